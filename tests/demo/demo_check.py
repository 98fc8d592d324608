#!/usr/bin/env python3
"""The demo data set, loaded for real: what `make run DEMO=1` does, checked.

Starts `target/debug/cpcd --config config/development.toml all` on a fresh
database and a free loopback port, runs `scripts/demo-data.py` twice (the
second run must find the demo already loaded and change nothing), then asks
the API, as the people the demo prints, whether it holds what the demo
promises: the three children of two families, the police officer on the
Smith case only, the chair, and the siblings' initial conference made due
by scheduling from the cases feed. cpcd is stopped and the database dropped
however the check ends; a failure exits 1 with what went wrong.

Usage: tests/demo/demo_check.py POSTGRES_URL   (a server URL, e.g. from
scripts/ensure-postgres.sh; its database is only used to create and drop
this check's own one). Needs `cargo build --bin cpcd --bin cpcctl` first.
"""

import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CPCD = "target/debug/cpcd"
CPCCTL = "target/debug/cpcctl"
AUTHORITY = "E10000013"  # the demo's authority, configured in config/development.toml
START_TIMEOUT = 120  # seconds for cpcd to migrate a fresh database and serve
DUE_TIMEOUT = 30  # seconds for scheduling to follow the cases feed


class CheckFailed(Exception):
    pass


def psql(server_url, sql):
    """Runs `sql` on the server's own database (the URL's), as the
    maintenance connection for creating and dropping ours."""
    psql_bin = shutil.which("psql") or next(
        iter(sorted(Path(os.environ.get("CPC_PG_LIBDIR", "/usr/lib/postgresql")).glob("*/bin/psql"))), None
    )
    if psql_bin is None:
        raise CheckFailed("psql not found (on PATH or in /usr/lib/postgresql/*/bin)")
    done = subprocess.run([psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server_url, "-c", sql],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckFailed(f"psql {sql!r}: {done.stderr.strip()}")


def free_port():
    """A loopback port free now (not 50051, so a developer's `make run` is
    left alone). Another process could take it before cpcd binds; cpcd then
    exits and the check says so."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, env, timeout=120):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].startswith(("postgres://", "postgresql://")):
        sys.exit(__doc__)
    server_url = sys.argv[1]
    os.chdir(ROOT)  # config/development.toml and the demo script name paths from here
    for binary in (CPCD, CPCCTL):
        if not os.access(binary, os.X_OK):
            sys.exit(f"demo check: {binary} is missing; run cargo build --bin cpcd --bin cpcctl")
    # SIGTERM (a CI timeout) should clean up as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("demo check: terminated"))

    # Our own database, so neither a developer's `make run` data (database
    # cpc) nor an earlier run's demo can make the first load "already loaded".
    db = f"cpc_demo_check_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(server_url)
    db_url = parts._replace(path=f"/{db}").geturl()
    scratch = Path(tempfile.mkdtemp(prefix="cpc-demo-check-"))
    log_path = scratch / "cpcd.log"
    port = free_port()
    env = dict(
        os.environ,
        CPC_DATABASE_URL=db_url,
        CPC_LISTEN_ADDR=f"127.0.0.1:{port}",  # cpcd's listener (config listen_addr)
        CPC_ADDR=f"http://127.0.0.1:{port}",  # cpcctl's server, inherited by the demo script
        # A development key directory that does not exist yet, as in a clean
        # checkout: cpcd creates the key at start-up, `cpcctl dev token`
        # (here and in the demo script) signs with it. The developer's own
        # .local/dev-identity is not touched.
        CPC_IDENTITY__DEV_KEY_DIR=str(scratch / "dev-identity"),
    )
    env.pop("CPC_TOKEN", None)
    cpcd = None
    started = time.monotonic()
    try:
        psql(server_url, f'CREATE DATABASE "{db}"')
        with open(log_path, "wb") as log:
            cpcd = subprocess.Popen([CPCD, "--config", "config/development.toml", "all"],
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until_serving(cpcd, env, log_path)
        check_demo(env)
        print(f"demo check: passed in {time.monotonic() - started:.0f}s (loaded twice; children, case"
              " membership, chair and the initial conference checked)", file=sys.stderr)
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        sys.exit(f"demo check: FAILED: {failure}")
    finally:
        if cpcd is not None:
            cpcd.terminate()  # SIGTERM: cpcd's graceful shutdown
            try:
                cpcd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cpcd.kill()
                cpcd.wait()
        try:
            psql(server_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except CheckFailed as failure:
            print(f"demo check: could not drop database {db}: {failure}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)


def wait_until_serving(cpcd, env, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    while run([CPCCTL, "health"], env, timeout=10).returncode != 0:
        if cpcd.poll() is not None or time.monotonic() > deadline:
            why = f"exited with {cpcd.returncode}" if cpcd.poll() is not None else f"down after {START_TIMEOUT}s"
            tail = log_path.read_text(errors="replace").splitlines()[-30:]
            raise CheckFailed(f"cpcd {why}; the end of its output:\n  " + "\n  ".join(tail))
        time.sleep(0.5)


def check_demo(env):
    demo = [sys.executable, "scripts/demo-data.py", CPCCTL]
    first = run(demo, env, timeout=300)
    if first.returncode != 0 or "demo data: loaded" not in first.stderr:
        raise CheckFailed(f"first load exited {first.returncode}:\n{first.stderr}")
    sys.stderr.write(first.stderr)
    # The ids it prints are the ones the README tells people to mint tokens
    # for; the checks below use them, so a wrong one fails here.
    people = dict(re.findall(r"(team manager|police officer|business support|chair) ([0-9a-f-]{36})",
                             first.stderr))
    if len(people) != 4:
        raise CheckFailed(f"first load did not print the person ids:\n{first.stderr}")
    second = run(demo, env, timeout=300)
    if second.returncode != 0 or "demo data: already loaded" not in second.stderr:
        raise CheckFailed(f"second load should find the demo there; exited {second.returncode}:\n{second.stderr}")

    council = ("childrens_social_care", "County Children's Services")
    manager = token(env, people["team manager"], "team_manager", *council)
    officer = token(env, people["police officer"], "agency_practitioner", "police", "County Constabulary")
    support = token(env, people["business support"], "business_support", *council)

    # Three children, once each (the second run added nothing); two families.
    children = list_children(env, manager)
    by_la_id = {child["laChildId"]: child for child in children}
    expect(la_ids(children) == ["DEMO001", "DEMO002", "DEMO003"],
           f"children should be DEMO001-003 once each, got {la_ids(children)}")
    smith = by_la_id["DEMO001"]["caseId"]
    expect(by_la_id["DEMO002"]["caseId"] == smith != by_la_id["DEMO003"]["caseId"],
           "DEMO001 and DEMO002 should share a case, DEMO003 have its own")

    # The police officer is a member of the Smith case, and of nothing else.
    seen = la_ids(list_children(env, officer))
    expect(seen == ["DEMO001", "DEMO002"], f"the police officer should see the Smith children only, got {seen}")

    chair = call(env, support, "cpc.scheduling.v1.ChairsService/GetChair", {"chairId": people["chair"]})
    chair = chair["chair"]
    expect(chair.get("active") is True, f"the demo chair should be active: {chair}")

    # Scheduling follows the cases feed on its own, so the initial
    # conference may lag the enquiries; the demo script waits for it too.
    deadline = time.monotonic() + DUE_TIMEOUT
    while not (due := call(env, support, "cpc.scheduling.v1.ConferencesService/ListConferences",
                           {"caseId": smith}).get("conferences")):
        expect(time.monotonic() < deadline, f"no conference due for the Smith case after {DUE_TIMEOUT}s")
        time.sleep(0.5)
    expect(len(due) == 1, f"one conference should be due for the Smith case, got {len(due)}")
    icpc = due[0]
    expect(icpc["kind"] == "CONFERENCE_KIND_INITIAL" and icpc["status"] == "CONFERENCE_STATUS_DUE",
           f"the Smith conference should be an initial one, due: {icpc['kind']}, {icpc['status']}")
    expect(sorted(icpc["childIds"]) == sorted([by_la_id["DEMO001"]["id"], by_la_id["DEMO002"]["id"]]),
           "the initial conference should be for both Smith children")
    # The demo dates its events from today so that the deadline lies ahead.
    expect(datetime.date(**icpc["statutoryDueDate"]) > datetime.date.today(),
           f"the initial conference's due date should lie ahead: {icpc['statutoryDueDate']}")


def list_children(env, tok):
    return call(env, tok, "cpc.cases.v1.CasesService/ListChildren", {"authorityId": AUTHORITY}).get("children", [])


def la_ids(children):
    return sorted(child["laChildId"] for child in children)


def token(env, person, role, agency_kind, agency_name):
    done = run([CPCCTL, "dev", "token", "--person", person, "--role", role, "--authority", AUTHORITY,
                "--agency-kind", agency_kind, "--agency-name", agency_name], env)
    expect(done.returncode == 0, f"cpcctl dev token: {done.stderr.strip()}")
    return done.stdout.strip()


def call(env, tok, method, data):
    done = run([CPCCTL, "call", method, "--token", tok, "--data", json.dumps(data)], env)
    expect(done.returncode == 0, f"{method} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


if __name__ == "__main__":
    main()
