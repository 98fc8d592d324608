"""Validate a children in need (CIN) census XML file with the DfE rules.

Runs the csc-validator-be-cin package (module ``cin_validator``, pinned in
tools/census-requirements.txt) the same way as ``python -m cin_validator run`` and
prints one JSON object on stdout for the reporting service:

    {"ruleset": "cin2025_26", "child_count": 2,
     "issues": [{"rule_code": "8925", "severity": "error",
                 "la_child_id": "A1", "message": "...",
                 "fields": ["CPPendDate", "CPPstartDate"]}]}

One issue per (rule_code, la_child_id) with its fields merged; la_child_id is
"" for return-level rules (header or whole-return checks). Severity is
"error" or "query", from the rule's definition. Issues are sorted errors
first, then by la_child_id, then rule_code.

Usage:
    .venv/bin/python tools/cin_validate.py --ruleset cin2025_26 FILE.xml
    .venv/bin/python tools/cin_validate.py --ruleset cin2025_26 -   # stdin
    .venv/bin/python tools/cin_validate.py --self-test

Exit status: 0 when validation ran (whatever it found); 2 with a one-line
message on stderr for an unreadable or malformed file, 4 for an unknown
ruleset (the reporting service tells these apart by the status alone);
the self-test exits 1 when a built-in document does not give the expected
result. Rules that crash inside the library are named on stderr (codes only).

The library reads only the first CPPreviewDate of a Reviews group, while the
DfE schema puts all of a plan's review dates in one group; this script splits
such a group (in memory) so that every review date is checked. It also drops
XML namespaces, which the library's element look-ups do not expect.
"""

import argparse
import contextlib
import importlib
import io
import json
import re
import sys
import warnings
import xml.etree.ElementTree as ET

DEFAULT_RULESET = "cin2025_26"
RULESET_RE = re.compile(r"^cin20\d\d_\d\d$")


class InputError(Exception):
    """The file or the ruleset cannot be used; the message is safe to print."""


class UnknownRuleset(InputError):
    """No rules for the ruleset asked for."""


def _quiet():
    """Silence library warnings and prints (stdout is reserved for JSON)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    captured = io.StringIO()
    stack.enter_context(contextlib.redirect_stdout(captured))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack, captured


def _load(ruleset):
    if not RULESET_RE.match(ruleset):
        raise UnknownRuleset(f"unknown ruleset {ruleset!r}")
    try:
        from cin_validator import cin_validator

        module = importlib.import_module(f"cin_validator.rules.{ruleset}")
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("cin_validator.rules"):
            raise UnknownRuleset(f"unknown ruleset {ruleset!r}") from None
        raise
    return cin_validator, module.registry


def _parse(source):
    """Parse the XML and check the skeleton the library relies on."""
    try:
        root = ET.parse(source).getroot()
    except ET.ParseError as err:
        raise InputError(f"malformed XML (line {err.position[0]})") from None
    except (OSError, UnicodeError) as err:
        raise InputError(f"cannot read input: {type(err).__name__}") from None
    for element in root.iter():  # the library looks elements up without namespaces
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    header, children = root.find("Header"), root.find("Children")
    if header is None or children is None:
        raise InputError("not a CIN census file: Header or Children missing")
    for name in ("CollectionDetails", "Source"):
        if header.find(name) is None:
            raise InputError(f"not a CIN census file: Header/{name} missing")
    for child in children.findall("Child"):
        if child.find("ChildCharacteristics") is None:
            raise InputError("malformed census file: Child without ChildCharacteristics")
    _split_reviews(root)
    return root


def _split_reviews(root):
    """Give each CPPreviewDate its own Reviews group.

    The DfE schema has one Reviews group per plan holding 1..n CPPreviewDate,
    but the library reads only the first date of each group; one group per
    date makes it check every review date.
    """
    for plan in root.iter("ChildProtectionPlans"):
        for reviews in plan.findall("Reviews"):
            dates = reviews.findall("CPPreviewDate")
            if len(dates) < 2:
                continue
            at = list(plan).index(reviews)
            plan.remove(reviews)
            for offset, date in enumerate(dates):
                group = ET.Element("Reviews")
                group.append(date)
                plan.insert(at + offset, group)


def _text(value):
    """A cell as a string; missing values (None, NaN, pd.NA) as ""."""
    import pandas as pd

    try:
        return "" if value is None or pd.isna(value) else str(value)
    except (TypeError, ValueError):
        return str(value)


def validate(source, ruleset=DEFAULT_RULESET):
    """Validate an XML file (path or binary file object); return the report dict."""
    stack, captured = _quiet()
    with stack:
        lib, registry = _load(ruleset)
        root = _parse(source)
        child_count = len(root.findall("Children/Child"))
        try:
            data_files = lib.process_data(lib.convert_data(root))
        except Exception as err:  # the library's own parse of the tree
            raise InputError(f"malformed census file ({type(err).__name__})") from None
        try:
            validator = lib.CinValidator(data_files, registry)
        except Exception as err:  # the library fails on some incomplete files
            raise InputError(
                f"validator could not process this file ({type(err).__name__})"
            ) from None

    crashed = sorted(set(re.findall(r"^Error with rule (\S+):", captured.getvalue(), re.M)))
    if crashed:
        print(f"cin_validate: warning: rules failed to run: {', '.join(crashed)}",
              file=sys.stderr)

    merged = {}  # (rule_code, la_child_id) -> set of fields

    def add(code, child, fields):
        merged.setdefault((str(code), child), set()).update(
            f for f in fields if isinstance(f, str) and f
        )

    df = validator.full_issue_df  # child-level issues (Header rows removed)
    for row in df[["rule_code", "child_id", "columns_affected"]].itertuples(index=False):
        add(row.rule_code, _text(row.child_id), [_text(row.columns_affected)])
    report = validator.user_report  # still holds the Header-table issues
    if len(report):
        header = report[report["tables_affected"] == "Header"]
        for row in header[["rule_code", "columns_affected"]].itertuples(index=False):
            add(row.rule_code, "", [_text(row.columns_affected)])
    la_issues = validator.la_rule_issues  # return-level rules, no location
    if len(la_issues):
        for code in la_issues["rule_code"]:
            rule = registry.get(str(code))
            add(code, "", list(getattr(rule, "affected_fields", None) or []))

    issues = []
    for (code, child), fields in merged.items():
        rule = registry.get(code)
        query = rule is not None and rule.rule_type.name == "QUERY"
        issues.append({
            "rule_code": code,
            "severity": "query" if query else "error",
            "la_child_id": child,
            "message": (rule.message or "").strip() if rule else "",
            "fields": sorted(fields),
        })
    issues.sort(key=lambda i: (i["severity"] != "error", i["la_child_id"], i["rule_code"]))
    return {"ruleset": ruleset, "child_count": child_count, "issues": issues}


# Built-in documents for --self-test: a clean 2025-26 return with one child
# on a child protection plan, and the same plan ending before it started and
# with a second review date before its start.
SELF_TEST_DOC = """<Message>
<Header>
 <CollectionDetails><Collection>CIN</Collection><Year>2026</Year>
  <ReferenceDate>2026-03-31</ReferenceDate></CollectionDetails>
 <Source><SourceLevel>L</SourceLevel><LEA>916</LEA><SoftwareCode>cpc</SoftwareCode>
  <Release>1</Release><SerialNo>1</SerialNo><DateTime>2026-04-01T09:00:00</DateTime></Source>
</Header>
<Children><Child>
 <ChildIdentifiers><LAchildID>ST1</LAchildID><UPNunknown>UN1</UPNunknown>
  <PersonBirthDate>2024-01-15</PersonBirthDate><Sex>F</Sex></ChildIdentifiers>
 <ChildCharacteristics><Ethnicity>WBRI</Ethnicity>
  <Disabilities><Disability>NONE</Disability></Disabilities></ChildCharacteristics>
 <CINdetails>
  <CINreferralDate>2025-06-02</CINreferralDate><ReferralSource>1A</ReferralSource>
  <PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA>
  <Assessments><AssessmentActualStartDate>2025-06-02</AssessmentActualStartDate>
   <AssessmentAuthorisationDate>2025-06-16</AssessmentAuthorisationDate>
   <FactorsIdentifiedAtAssessment><AssessmentFactors>2B</AssessmentFactors>
   </FactorsIdentifiedAtAssessment></Assessments>
  <Section47><S47ActualStartDate>2025-06-03</S47ActualStartDate>
   <InitialCPCtarget>2025-06-24</InitialCPCtarget>
   <DateOfInitialCPC>2025-06-20</DateOfInitialCPC>
   <ICPCnotRequired>false</ICPCnotRequired></Section47>
  <ChildProtectionPlans><CPPstartDate>2025-06-20</CPPstartDate>{end}
   <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>
   <LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>
   <NumberOfPreviousCPP>0</NumberOfPreviousCPP>
   <Reviews><CPPreviewDate>2025-09-19</CPPreviewDate>{review}</Reviews>
  </ChildProtectionPlans>
 </CINdetails>
</Child></Children>
</Message>
"""
# 8925: plan ends before it starts; 8841: review on or before the plan start.
SELF_TEST_EXPECTED = {"8925", "8841"}


def self_test(ruleset):
    valid = SELF_TEST_DOC.replace("{end}", "").replace("{review}", "")
    broken = SELF_TEST_DOC.replace(
        "{end}", "<CPPendDate>2025-06-10</CPPendDate>"
    ).replace("{review}", "<CPPreviewDate>2025-06-13</CPPreviewDate>")
    good = validate(io.BytesIO(valid.encode()), ruleset)
    bad = validate(io.BytesIO(broken.encode()), ruleset)
    errors = sorted({i["rule_code"] for i in good["issues"] if i["severity"] == "error"})
    missing = sorted(SELF_TEST_EXPECTED - {i["rule_code"] for i in bad["issues"]})
    ok = not errors and not missing
    print(f"cin_validate self-test ({ruleset}): {'ok' if ok else 'FAILED'}; "
          f"valid document errors: {errors or 'none'}; "
          f"broken document missing rules: {missing or 'none'}")
    return 0 if ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validate a CIN census XML file.")
    parser.add_argument("--ruleset", default=DEFAULT_RULESET,
                        help=f"validator ruleset (default {DEFAULT_RULESET})")
    parser.add_argument("--self-test", action="store_true",
                        help="validate two built-in documents and check the result")
    parser.add_argument("file", nargs="?", help="census XML file, or - for stdin")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            return self_test(args.ruleset)
        if not args.file:
            parser.error("FILE is required (or --self-test)")
        source = sys.stdin.buffer if args.file == "-" else args.file
        result = validate(source, args.ruleset)
    except InputError as err:
        print(f"cin_validate: {err}", file=sys.stderr)
        return 4 if isinstance(err, UnknownRuleset) else 2
    json.dump(result, sys.stdout, ensure_ascii=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
