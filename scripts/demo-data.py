#!/usr/bin/env python3
"""Loads a small demo data set into a running cpcd (development mode) through
its public API, with `cpcctl call`: two families, one child with a referral,
a strategy discussion and a section 47 enquiry, a police officer on the
case; a conference chair, and the siblings' initial conference, which
scheduling makes due from the cases feed. Every request carries a fixed request id, and the script stops early
when the demo family is already there, so running it twice changes nothing.

Usage: scripts/demo-data.py [path/to/cpcctl]   (CPC_ADDR as for cpcctl)
"""

import datetime
import json
import subprocess
import sys
import time

CPCCTL = sys.argv[1] if len(sys.argv) > 1 else "target/debug/cpcctl"
AUTHORITY = "E10000013"
WORKER = "7d4e1b9a-3c2f-4a8e-9b61-0f5c2d8e4a17"
MANAGER = "2f1c8d3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f"
OFFICER = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
SUPPORT = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d"
CHAIR = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def token(person, role, *agency):
    args = [CPCCTL, "dev", "token", "--person", person, "--role", role, "--authority", AUTHORITY]
    if agency:
        args += ["--agency-kind", agency[0], "--agency-name", agency[1]]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def call(tok, method, data):
    """Calls `method`: a CasesService method name, or `package.Service/Method`."""
    if "/" not in method:
        method = f"cpc.cases.v1.CasesService/{method}"
    done = subprocess.run(
        [CPCCTL, "call", method, "--token", tok, "--data", json.dumps(data)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"demo data: {method} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def date(y, m, d):
    return {"year": y, "month": m, "day": d}


def days_ago(n):
    """A date `n` days before today, so the demo's deadlines lie ahead of
    whoever loads it rather than long past."""
    day = datetime.date.today() - datetime.timedelta(days=n)
    return date(day.year, day.month, day.day)


def person(pid, name, kind, agency):
    return {"personId": pid, "displayName": name, "agencyKind": kind, "agencyName": agency}


def main():
    worker = token(WORKER, "social_worker", "childrens_social_care", "County Children's Services")
    manager = token(MANAGER, "team_manager", "childrens_social_care", "County Children's Services")
    found = call(manager, "ListChildren", {"authorityId": AUTHORITY, "laChildId": "DEMO001"})
    if found.get("children"):
        print("demo data: already loaded", file=sys.stderr)
        return
    child = call(worker, "CreateChild", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4a01",
        "child": {
            "authorityId": AUTHORITY, "laChildId": "DEMO001", "upn": "A950000178301",
            "nhsNumber": "943 476 5919", "givenNames": "Jamie", "familyName": "Smith",
            "birthDate": date(2019, 3, 10), "sex": "SEX_MALE", "ethnicityCode": "WBRI",
            "disabilityCodes": ["NONE"],
        },
    })["child"]
    sibling = call(worker, "CreateChild", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4a02",
        "child": {
            "authorityId": AUTHORITY, "caseId": child["caseId"], "laChildId": "DEMO002",
            "upnUnknownReason": "UPN_UNKNOWN_REASON_UN1", "givenNames": "Lily", "familyName": "Smith",
            "birthDate": date(2023, 8, 1), "sex": "SEX_FEMALE", "ethnicityCode": "WBRI",
            "disabilityCodes": ["NONE"],
        },
    })["child"]
    call(worker, "CreateChild", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4a03",
        "child": {
            "authorityId": AUTHORITY, "laChildId": "DEMO003", "upnUnknownReason": "UPN_UNKNOWN_REASON_UN2",
            "givenNames": "Noah", "familyName": "Jones", "birthDate": date(2016, 11, 2),
            "sex": "SEX_MALE", "ethnicityCode": "MWBC", "disabilityCodes": ["NONE"],
        },
    })
    for n, kid in enumerate([child, sibling]):
        call(worker, "OpenCinEpisode", {
            "requestId": f"0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4b0{n}", "childId": kid["id"],
            "referralDate": days_ago(3), "referralSourceCode": "6",
            "primaryNeed": "PRIMARY_NEED_N1_ABUSE_OR_NEGLECT",
        })
    worker_ref = person(WORKER, "Sam Social", "AGENCY_KIND_CHILDRENS_SOCIAL_CARE", "County Children's Services")
    officer_ref = person(OFFICER, "PC Patel", "AGENCY_KIND_POLICE", "County Constabulary")
    discussion = call(worker, "RecordStrategyDiscussion", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4c01", "caseId": child["caseId"],
        "childIds": [child["id"], sibling["id"]], "discussionDate": days_ago(1),
        "attendees": [worker_ref, officer_ref], "outcome": "STRATEGY_OUTCOME_START_SECTION_47",
        "rationale": "Neglect concerns reported by the police",
    })["strategyDiscussion"]
    for n, kid in enumerate([child, sibling]):
        enquiry = call(worker, "StartSection47Enquiry", {
            "requestId": f"0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4d0{n}", "childId": kid["id"],
            "strategyDiscussionId": discussion["id"], "startDate": days_ago(1),
        })["enquiry"]
    call(manager, "AddCaseMember", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4e01",
        "membership": {
            "caseId": child["caseId"], "person": officer_ref,
            "caseRole": "CASE_ROLE_AGENCY_PRACTITIONER", "startDate": child_created(child),
        },
    })
    support = token(SUPPORT, "business_support", "childrens_social_care", "County Children's Services")
    call(support, "cpc.scheduling.v1.ChairsService/CreateChair", {
        "requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4f01",
        "chair": {
            "id": CHAIR, "authorityId": AUTHORITY, "active": True,
            "person": person(CHAIR, "Chris Chair", "AGENCY_KIND_CHILDRENS_SOCIAL_CARE", "Safeguarding Unit"),
            "workingPattern": [
                {"weekday": day, "startMinute": 9 * 60, "endMinute": 17 * 60}
                for day in ["WEEKDAY_MONDAY", "WEEKDAY_TUESDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_THURSDAY"]
            ],
            "maxConferencesPerDay": 2, "maxConferencesPerWeek": 6, "maxChildren": 40,
        },
    })
    # Scheduling learns of the enquiry from the cases change feed.
    for _ in range(50):
        due = call(support, "cpc.scheduling.v1.ConferencesService/ListConferences", {"caseId": child["caseId"]})
        if due.get("conferences"):
            break
        time.sleep(0.2)
    else:
        sys.exit("demo data: scheduling did not make the initial conference due (is [authorities] configured?)")
    print(
        "demo data: loaded two families (DEMO001-003); ICPC for the Smith children due "
        + "{year}-{month:02}-{day:02}".format(**enquiry["initialCpcTargetDate"])
        + f" (conference {due['conferences'][0]['id']})",
        file=sys.stderr,
    )
    print(
        f"demo data: social worker {WORKER}, team manager {MANAGER}, police officer {OFFICER}, "
        f"business support {SUPPORT}, chair {CHAIR}",
        file=sys.stderr,
    )


def child_created(child):
    """The day the case was opened (memberships may not start earlier)."""
    y, m, d = (int(part) for part in child["createTime"][:10].split("-"))
    return date(y, m, d)


if __name__ == "__main__":
    main()
