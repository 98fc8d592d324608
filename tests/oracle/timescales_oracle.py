#!/usr/bin/env python3
"""Independent oracle for `cpcctl timescales` (the statutory dates of DOMAIN.md).

A second source: bank holidays come from the `holidays` PyPI package and
calendar months from `dateutil.relativedelta`; nothing here reads the project's
bank-holidays.json or its Rust code. For every day of the range (default
2019-01-01..2035-12-31) and each of the five date flags it runs

    cpcctl timescales --<flag> DATE --nation NATION

and compares every key it expects with what cpcctl printed (unknown keys are
ignored). It also checks that a few bad inputs exit with status 2 and a
message on stderr. It prints a table per nation and flag, up to 20 mismatches
with both values, and ends with the plain line `N passed, M failed`; the exit
status is 1 on any mismatch or cpcctl error.

    python tests/oracle/timescales_oracle.py [--cpcctl PATH] [--all-nations]
    python tests/oracle/timescales_oracle.py --self-test

Needs tools/requirements.txt (scripts/python-tools.sh makes .venv with it).

Definitions (DOMAIN.md): working days are Monday to Friday less the nation's
bank holidays (substitute days and one-offs included). "N working days after
D" is the Nth working day strictly after D; "before" mirrors it.
  --strategy-discussion D: icpc_due = 15 working days after D
  --transfer-in D:         transfer_in_conference_due = 15 working days after D
  --icpc D:                first_core_group_due = 10 working days after D,
                           first_review_due = D + 3 calendar months (clamped)
  --review D:              next_review_due = D + 6 calendar months (clamped)
  --conference D:          reports_due = 2 working days before D

Holiday source and where it differs from the project's gov.uk file: this
oracle follows the `holidays` package (GB, subdivisions ENG for England and
Wales, SCT, NIR). Compared with shared/data/bank-holidays.json for 2012-2028
the two agree on every weekday holiday of all three nations except one:
Monday 2026-06-15, a one-off bank holiday in Scotland for the men's team's
FIFA World Cup appearance, appointed by Royal Proclamation of 3 February 2026
under s.1(3) of the Banking and Financial Dealings Act 1971 and listed in the
live gov.uk feed. The project's copy of the file was taken before it was
announced and lacks it. The oracle keeps it (it is law, and the
DOMAIN.md rule is that one-offs count), so a cpcctl that uses the stale file
disagrees for Scotland on dates whose window spans 2026-06-15; mismatches
there are labelled with this note. The package also lists a holiday itself
when a substitute day is given for it (e.g. Saturday 2022-01-01 and Monday
2022-01-03); only weekdays matter, so that is no difference.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

try:
    import holidays
    from dateutil.relativedelta import relativedelta
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"timescales_oracle: {exc}; run scripts/python-tools.sh and use .venv/bin/python\n"
    )
    sys.exit(2)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CPCCTL = REPO_ROOT / "target" / "debug" / "cpcctl"
DEFAULT_START = dt.date(2019, 1, 1)
DEFAULT_END = dt.date(2035, 12, 31)
MAX_SHOWN = 20
ONE_DAY = dt.timedelta(days=1)

# cpcctl --nation value -> `holidays` GB subdivision code.
NATIONS = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}
DEFAULT_NATION = "england-and-wales"

# flag -> keys cpcctl must print for it
FLAGS = {
    "--strategy-discussion": ("icpc_due",),
    "--icpc": ("first_core_group_due", "first_review_due"),
    "--review": ("next_review_due",),
    "--conference": ("reports_due",),
    "--transfer-in": ("transfer_in_conference_due",),
}

# Dates on which the holiday source followed here is known to differ from the
# project's gov.uk snapshot; shown next to any mismatch whose window spans one.
KNOWN_DIFFERENCES = {
    ("scotland", dt.date(2026, 6, 15)): (
        "2026-06-15 is Scotland's one-off World Cup bank holiday (Royal Proclamation of "
        "3 Feb 2026, in the live gov.uk feed); the project's bank-holidays.json snapshot "
        "predates it. The oracle counts it as a holiday."
    ),
}


class Calendar:
    """Working-day arithmetic for one nation, from the `holidays` package."""

    def __init__(self, nation: str, first_year: int, last_year: int):
        subdiv = NATIONS[nation]
        supported = getattr(holidays.UnitedKingdom, "subdivisions", ())
        if subdiv not in supported:
            raise SystemExit(
                f"timescales_oracle: holidays {holidays.__version__} has no GB subdivision "
                f"{subdiv!r} (has {supported}); update NATIONS"
            )
        self.nation = nation
        self.first_year, self.last_year = first_year, last_year
        table = holidays.country_holidays(
            "GB", subdiv=subdiv, years=range(first_year, last_year + 1)
        )
        # Weekend entries (a holiday whose substitute is a weekday) change nothing.
        self.holidays = frozenset(d for d in table if d.weekday() < 5)
        self.names = dict(table.items())

    def is_working_day(self, d: dt.date) -> bool:
        if not self.first_year <= d.year <= self.last_year:
            raise ValueError(f"{d} outside the holiday years loaded ({self.first_year}-{self.last_year})")
        return d.weekday() < 5 and d not in self.holidays

    def working_days_after(self, d: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after d."""
        while n > 0:
            d += ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_before(self, d: dt.date, n: int) -> dt.date:
        """The n-th working day strictly before d."""
        while n > 0:
            d -= ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d


def add_months(d: dt.date, n: int) -> dt.date:
    """Same day n calendar months later, clamped to that month's last day."""
    return d + relativedelta(months=n)


def expected(cal: Calendar, flag: str, d: dt.date) -> dict[str, dt.date]:
    if flag == "--strategy-discussion":
        return {"icpc_due": cal.working_days_after(d, 15)}
    if flag == "--transfer-in":
        return {"transfer_in_conference_due": cal.working_days_after(d, 15)}
    if flag == "--icpc":
        return {
            "first_core_group_due": cal.working_days_after(d, 10),
            "first_review_due": add_months(d, 3),
        }
    if flag == "--review":
        return {"next_review_due": add_months(d, 6)}
    if flag == "--conference":
        return {"reports_due": cal.working_days_before(d, 2)}
    raise ValueError(flag)


def calendars(nations, start: dt.date, end: dt.date) -> dict[str, Calendar]:
    # A year either side: 15 working days after 31 Dec, 2 before 1 Jan.
    return {n: Calendar(n, start.year - 1, end.year + 1) for n in nations}


# --------------------------------------------------------------------------
# self-test: the oracle against hand-worked cases


def self_test() -> int:
    d = dt.date.fromisoformat
    cals = calendars(NATIONS, dt.date(2019, 1, 1), dt.date(2035, 12, 31))
    ew, sc, ni = cals["england-and-wales"], cals["scotland"], cals["northern-ireland"]
    results: list[tuple[str, bool, str]] = []

    def check(name: str, got, want) -> None:
        results.append((name, got == want, f"got {got}, want {want}"))

    # Worked by hand from the calendar (not from the package):
    # Fri 27 May 2022; 2 and 3 Jun 2022 are the moved spring bank holiday and
    # the Platinum Jubilee: 30,31 May, 1 Jun (3), 6-10 Jun (8), 13-17 (13),
    # 20 (14), 21 Jun (15).
    check("E&W strategy 2022-05-27 -> icpc 2022-06-21",
          expected(ew, "--strategy-discussion", d("2022-05-27"))["icpc_due"], d("2022-06-21"))
    # Same in Scotland (both holidays UK-wide).
    check("SCT strategy 2022-05-27 -> icpc 2022-06-21",
          expected(sc, "--strategy-discussion", d("2022-05-27"))["icpc_due"], d("2022-06-21"))
    # Conference Mon 6 Jun 2022: Fri 3 and Thu 2 are holidays, so Wed 1 (1), Tue 31 May (2).
    check("E&W conference 2022-06-06 -> reports 2022-05-31",
          expected(ew, "--conference", d("2022-06-06"))["reports_due"], d("2022-05-31"))
    # Conference Wed 2022-09-21: Tue 20 (1), Mon 19 is the Queen's state funeral, Fri 16 (2).
    check("E&W conference 2022-09-21 -> reports 2022-09-16",
          expected(ew, "--conference", d("2022-09-21"))["reports_due"], d("2022-09-16"))
    # Conference Wed 2023-05-10: Tue 9 (1), Mon 8 is the Coronation, Fri 5 May (2).
    check("NI conference 2023-05-10 -> reports 2023-05-05",
          expected(ni, "--conference", d("2023-05-10"))["reports_due"], d("2023-05-05"))
    # ICPC Mon 19 Dec 2022, E&W: 20-23 (4), 26+27 holidays, 28-30 (7),
    # 2 Jan 2023 New Year substitute, 3,4,5 Jan (10).
    check("E&W icpc 2022-12-19 -> core group 2023-01-05",
          expected(ew, "--icpc", d("2022-12-19"))["first_core_group_due"], d("2023-01-05"))
    # Scotland: 2 Jan (2nd January) and 3 Jan (New Year substitute) both off,
    # so 28-30 Dec (7), 4,5,6 Jan (10).
    check("SCT icpc 2022-12-19 -> core group 2023-01-06",
          expected(sc, "--icpc", d("2022-12-19"))["first_core_group_due"], d("2023-01-06"))
    # Transfer notified Thu 16 Mar 2023. NI: 17 Mar St Patrick's, 20-24 (5),
    # 27-31 (10), 3-6 Apr (14), 7 Good Friday, 10 Easter Monday, 11 Apr (15).
    check("NI transfer-in 2023-03-16 -> 2023-04-11",
          expected(ni, "--transfer-in", d("2023-03-16"))["transfer_in_conference_due"], d("2023-04-11"))
    # E&W: 17 Mar (1), 20-24 (6), 27-31 (11), 3,4,5,6 Apr (15).
    check("E&W transfer-in 2023-03-16 -> 2023-04-06",
          expected(ew, "--transfer-in", d("2023-03-16"))["transfer_in_conference_due"], d("2023-04-06"))
    # Strategy discussion Fri 12 Jun 2026. Scotland: 15 Jun World Cup holiday,
    # 16-19 (4), 22-26 (9), 29 Jun-3 Jul (14), 6 Jul (15). E&W: 3 Jul.
    check("SCT strategy 2026-06-12 -> icpc 2026-07-06",
          expected(sc, "--strategy-discussion", d("2026-06-12"))["icpc_due"], d("2026-07-06"))
    check("E&W strategy 2026-06-12 -> icpc 2026-07-03",
          expected(ew, "--strategy-discussion", d("2026-06-12"))["icpc_due"], d("2026-07-03"))
    # NI, Battle of the Boyne Wed 12 Jul 2023: conference Thu 13 -> Tue 11, Mon 10.
    check("NI conference 2023-07-13 -> reports 2023-07-10",
          expected(ni, "--conference", d("2023-07-13"))["reports_due"], d("2023-07-10"))
    check("E&W conference 2023-07-13 -> reports 2023-07-11",
          expected(ew, "--conference", d("2023-07-13"))["reports_due"], d("2023-07-11"))
    # Year end of the range: Mon 31 Dec 2035; 1 Jan 2036 (Tue) holiday, 2-4 (3),
    # 7-11 (8), 14-18 (13), 21, 22 Jan (15).
    check("E&W strategy 2035-12-31 -> icpc 2036-01-22",
          expected(ew, "--strategy-discussion", d("2035-12-31"))["icpc_due"], d("2036-01-22"))
    # Calendar months, clamped.
    check("review 2023-08-31 + 6 months = 2024-02-29",
          expected(ew, "--review", d("2023-08-31"))["next_review_due"], d("2024-02-29"))
    check("review 2022-08-31 + 6 months = 2023-02-28",
          expected(ew, "--review", d("2022-08-31"))["next_review_due"], d("2023-02-28"))
    check("review 2024-02-29 + 6 months = 2024-08-29",
          expected(ew, "--review", d("2024-02-29"))["next_review_due"], d("2024-08-29"))
    check("icpc 2022-08-31 + 3 months = 2022-11-30",
          expected(ew, "--icpc", d("2022-08-31"))["first_review_due"], d("2022-11-30"))
    check("icpc 2023-11-30 + 3 months = 2024-02-29",
          expected(ew, "--icpc", d("2023-11-30"))["first_review_due"], d("2024-02-29"))
    check("icpc 2035-10-31 + 3 months = 2036-01-31",
          expected(ew, "--icpc", d("2035-10-31"))["first_review_due"], d("2036-01-31"))
    # Weekends are not working days; a weekend start counts from Monday.
    check("E&W conference Mon 2024-01-15 -> reports Thu 2024-01-11",
          expected(ew, "--conference", d("2024-01-15"))["reports_due"], d("2024-01-11"))
    check("E&W icpc Sat 2024-01-13 -> core group Fri 2024-01-26",
          expected(ew, "--icpc", d("2024-01-13"))["first_core_group_due"], d("2024-01-26"))

    # The holiday source itself: the one-offs DOMAIN.md names, per nation.
    for name, cal in cals.items():
        for one_off in ("2022-06-03", "2022-09-19", "2023-05-08", "2020-05-08"):
            check(f"{name}: {one_off} is a holiday", d(one_off) in cal.holidays, True)
        check(f"{name}: 2020-05-04 is not (moved to 8 May)", d("2020-05-04") in cal.holidays, False)
        check(f"{name}: Easter Monday 2030-04-22", d("2030-04-22") in cal.holidays, name != "scotland")
        check(f"{name}: 2 Jan 2029", d("2029-01-02") in cal.holidays, name == "scotland")
        check(f"{name}: 2026-06-15", d("2026-06-15") in cal.holidays, name == "scotland")
        per_year = Counter(h.year for h in cal.holidays)
        want = {"england-and-wales": 8, "scotland": 9, "northern-ireland": 10}[name]
        # Every year has at least the nation's regular count (one-offs add to it).
        short = sorted(y for y in range(2019, 2036) if per_year[y] < want)
        check(f"{name}: at least {want} weekday holidays in each of 2019-2035", short, [])
    check("NI: St Patrick's 2024-03-18 (substitute for Sunday)", d("2024-03-18") in ni.holidays, True)
    check("SCT: St Andrew's 2025-12-01 (substitute for Sunday)", d("2025-12-01") in sc.holidays, True)
    # England and Wales share one calendar: the package's WLS must equal ENG.
    wls_table = holidays.country_holidays("GB", subdiv="WLS", years=range(2018, 2037))
    wls_days = frozenset(x for x in wls_table if x.weekday() < 5)
    check("ENG and WLS weekday holidays identical 2018-2036", wls_days == ew.holidays, True)

    failed = [r for r in results if not r[1]]
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
    print(f"holiday source: holidays {holidays.__version__} (GB ENG/SCT/NIR)")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


# --------------------------------------------------------------------------
# the comparison run


@dataclass
class Outcome:
    nation: str
    flag: str
    date: dt.date
    error: str | None = None  # cpcctl failed or printed something unusable
    mismatches: tuple[tuple[str, str, str], ...] = ()  # (key, expected, got)


def run_cpcctl(cpcctl: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cpcctl, "timescales", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_one(cpcctl: str, cal: Calendar, flag: str, d: dt.date, timeout: float) -> Outcome:
    out = Outcome(cal.nation, flag, d)
    try:
        proc = run_cpcctl(cpcctl, [flag, d.isoformat(), "--nation", cal.nation], timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.error = f"could not run: {exc}"
        return out
    if proc.returncode != 0:
        out.error = f"exit {proc.returncode}: {proc.stderr.strip()[:300]}"
        return out
    try:
        got = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        out.error = f"stdout is not JSON ({exc}): {proc.stdout.strip()[:200]!r}"
        return out
    if not isinstance(got, dict):
        out.error = f"stdout is not a JSON object: {proc.stdout.strip()[:200]!r}"
        return out
    bad = []
    for key, want in expected(cal, flag, d).items():
        value = got.get(key, "<missing>")
        if value != want.isoformat():
            bad.append((key, want.isoformat(), str(value)))
    out.mismatches = tuple(bad)
    return out


BAD_INPUTS = (
    ["--icpc", "2023-02-30"],
    ["--review", "not-a-date"],
    ["--conference", ""],
    ["--strategy-discussion", "2023-05-10", "--nation", "atlantis"],
)


def check_bad_input(cpcctl: str, args: list[str], timeout: float) -> str | None:
    """None if cpcctl rejects args as specified (exit 2, message on stderr)."""
    try:
        proc = run_cpcctl(cpcctl, args, timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not run: {exc}"
    if proc.returncode != 2:
        return f"exit {proc.returncode} (want 2), stdout {proc.stdout.strip()[:120]!r}"
    if not proc.stderr.strip():
        return "exit 2 but nothing on stderr"
    return None


def knowledge_for(o: Outcome) -> list[str]:
    """Known source differences inside the window of a mismatch."""
    dates = [o.date] + [dt.date.fromisoformat(v) for _, v, _ in o.mismatches]
    for _, _, got in o.mismatches:
        try:
            dates.append(dt.date.fromisoformat(got))
        except ValueError:
            pass
    lo, hi = min(dates), max(dates)
    return [note for (nation, day), note in KNOWN_DIFFERENCES.items()
            if nation == o.nation and lo <= day <= hi]


def spread(outcomes: list[Outcome], limit: int) -> list[Outcome]:
    """Up to limit outcomes, taken in turn from each (nation, flag), earliest first."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in sorted(outcomes, key=lambda o: o.date):
        groups.setdefault((o.nation, o.flag), []).append(o)
    chosen: list[Outcome] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(g) for g in groups.values()):
        for g in groups.values():
            if depth < len(g) and len(chosen) < limit:
                chosen.append(g[depth])
        depth += 1
    order = {key: i for i, key in enumerate(groups)}
    return sorted(chosen, key=lambda o: (order[(o.nation, o.flag)], o.date))


def compare(cpcctl: str, nations: list[str], start: dt.date, end: dt.date,
            workers: int, timeout: float) -> int:
    if os.sep in cpcctl and not os.access(cpcctl, os.X_OK):
        print(f"timescales_oracle: cpcctl not found or not executable at {cpcctl} "
              "(cargo build --bin cpcctl, or pass --cpcctl PATH)", file=sys.stderr)
        return 2
    cals = calendars(nations, start, end)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    print(f"oracle: holidays {holidays.__version__} (GB "
          + "/".join(NATIONS[n] for n in nations) + "), relativedelta months; "
          f"{len(days)} days {start}..{end} x {len(FLAGS)} flags x {len(nations)} nation(s); "
          f"cpcctl {cpcctl}", flush=True)

    checked: Counter = Counter()
    mismatched: Counter = Counter()
    errored: Counter = Counter()
    mismatches: list[Outcome] = []
    errors: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for nation in nations:
            cal = cals[nation]
            jobs = [pool.submit(check_one, cpcctl, cal, flag, d, timeout)
                    for flag in FLAGS for d in days]
            for job in jobs:
                o = job.result()
                row = (o.nation, o.flag)
                checked[row] += 1
                if o.error:
                    errored[row] += 1
                    errors.append(o)
                elif o.mismatches:
                    mismatched[row] += 1
                    mismatches.append(o)
            print(f"  {nation}: done", file=sys.stderr, flush=True)

    bad_input_failures = [(args, why) for args in BAD_INPUTS
                          if (why := check_bad_input(cpcctl, args, timeout))]

    print()
    print(f"{'nation':<18} {'flag':<22} {'checked':>8} {'mismatches':>10} {'errors':>7}")
    for nation in nations:
        for flag in FLAGS:
            row = (nation, flag)
            print(f"{nation:<18} {flag:<22} {checked[row]:>8} {mismatched[row]:>10} {errored[row]:>7}")
    print(f"{'(bad input)':<18} {'exit 2 + stderr':<22} {len(BAD_INPUTS):>8} "
          f"{len(bad_input_failures):>10} {0:>7}")

    if mismatches:
        shown = spread(mismatches, MAX_SHOWN)
        print(f"\nmismatches ({len(mismatches)}; {len(shown)} shown, earliest of each nation and flag):")
        for o in shown:
            for key, want, got in o.mismatches:
                print(f"  {o.nation} {o.flag} {o.date}: {key} oracle {want}, cpcctl {got}")
        notes = dict.fromkeys(note for o in mismatches for note in knowledge_for(o))
        for note in notes:
            print(f"  note: {note}")
    if errors:
        shown = spread(errors, MAX_SHOWN)
        print(f"\ncpcctl errors ({len(errors)}; {len(shown)} shown):")
        for o in shown:
            print(f"  {o.nation} {o.flag} {o.date}: {o.error}")
    if bad_input_failures:
        print("\nbad input not rejected as specified (exit 2 with a message on stderr):")
        for args, why in bad_input_failures:
            print(f"  cpcctl timescales {' '.join(args)!s}: {why}")

    total = sum(checked.values()) + len(BAD_INPUTS)
    failed = len(mismatches) + len(errors) + len(bad_input_failures)
    print()
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def parse_date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {s!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpcctl", default=str(DEFAULT_CPCCTL),
                   help="cpcctl binary (default: <repo>/target/debug/cpcctl)")
    p.add_argument("--all-nations", action="store_true",
                   help="also check scotland and northern-ireland")
    p.add_argument("--nation", choices=sorted(NATIONS), action="append",
                   help="check only this nation (repeatable); overrides --all-nations")
    p.add_argument("--start", type=parse_date, default=DEFAULT_START, help="first date (default %(default)s)")
    p.add_argument("--end", type=parse_date, default=DEFAULT_END, help="last date (default %(default)s)")
    p.add_argument("--workers", type=int, default=4, help="parallel cpcctl runs (default %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per cpcctl run (default %(default)s)")
    p.add_argument("--self-test", action="store_true",
                   help="check the oracle against hand-worked cases; does not run cpcctl")
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.end < args.start:
        p.error("--end is before --start")
    if args.nation:
        nations = list(dict.fromkeys(args.nation))
    elif args.all_nations:
        nations = list(NATIONS)
    else:
        nations = [DEFAULT_NATION]
    return compare(args.cpcctl, nations, args.start, args.end, max(1, args.workers), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
