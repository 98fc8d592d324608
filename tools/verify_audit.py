#!/usr/bin/env python3
"""Checks a cpc audit log's hash chain without cpc's own code.

The audit log of each service (table `audit_log` in the service's schema) is
hash-chained: record n stores SHA-256(prev_hash || encoding(n, record)). The
encoding is documented in crates/audit/src/hash.rs (versions 1 to 4); this
is a second implementation of it, written from that documentation, so that
an auditor need not trust the system being audited to check its record.

    verify_audit.py --self-test
    verify_audit.py --database-url URL --schema cases [--anchor SEQ:HASH]

It reads the rows with `psql` (no driver to install) and prints one line:
`intact, N records, head SEQ:HASH` (exit 0), or `BROKEN at record N: why`
(exit 1). Given the head kept from an earlier run (--anchor), a deleted
tail or a log rewritten up to it is BROKEN too. Exit 2: it could not read.
"""

import argparse
import hashlib
import json
import re
import struct
import subprocess
import sys
import urllib.parse
import uuid

TAG_V1 = "cpc.audit.v1"
TAG_NAMED = "cpc.audit.v2"
TAG_CREDENTIAL = "cpc.audit.v3"
TAG_POLICY_SET = "cpc.audit.v4"
GENESIS = bytes(32)


def _str(value):
    data = value.encode("utf-8")
    return struct.pack(">Q", len(data)) + data


def _opt(value, encode):
    return b"\x00" if value is None else b"\x01" + encode(value)


def _list(values, encode):
    return struct.pack(">Q", len(values)) + b"".join(encode(v) for v in values)


def _uuid(value):
    return uuid.UUID(value).bytes


def encoding(seq, r):
    """The canonical encoding of record `r` (a dict of the row's fields,
    `occurred_micros` in place of the time) at `seq`."""
    named = (r["named_kind"], r["named_id"]) if r["named_kind"] is not None else None
    if r["policy_set"] is not None:
        tag = TAG_POLICY_SET
    elif r["credential_id"] is not None:
        tag = TAG_CREDENTIAL
    elif named is not None:
        tag = TAG_NAMED
    else:
        tag = TAG_V1
    out = _str(tag)
    out += struct.pack(">q", seq)
    out += struct.pack(">q", r["occurred_micros"])
    for field in ("request_id", "actor_subject", "actor_kind"):
        out += _str(r[field])
    out += _opt(r["on_behalf_of"], _str)
    out += _str(r["role"]) + _str(r["authority_id"])
    out += _opt(r["agency"], _str)
    out += _opt(r["case_id"], _uuid)
    out += _list(r["child_ids"], _uuid)
    out += _str(r["action"]) + _str(r["decision"])
    out += _list(r["policy_ids"], _str)
    out += _opt(r["reason"], _str)
    named_bytes = b"" if named is None else _str(named[0]) + _str(named[1])
    if tag == TAG_POLICY_SET:
        out += (b"\x01" + named_bytes) if named else b"\x00"
        out += _opt(r["credential_id"], _str)
        out += _str(r["policy_set"])
    elif tag == TAG_CREDENTIAL:
        out += (b"\x01" + named_bytes) if named else b"\x00"
        out += _str(r["credential_id"])
    else:
        out += named_bytes
    return out


def chain_hash(prev_hash, seq, r):
    return hashlib.sha256(prev_hash + encoding(seq, r)).digest()


def verify(rows, anchor=None):
    """(ok, line) for the rows in seq order (any iterable: a log is read
    as it streams, never held whole), against an optional (seq, hash)
    anchor."""
    prev = GENESIS
    count = 0
    anchored = None
    for expected_seq, row in enumerate(rows, start=1):
        seq = row["seq"]
        if seq != expected_seq:
            return False, f"BROKEN at record {expected_seq}: record {expected_seq} is missing"
        if bytes.fromhex(row["prev_hash"]) != prev:
            return False, f"BROKEN at record {seq}: its previous hash is not record {seq - 1}'s hash"
        computed = chain_hash(prev, seq, row)
        if bytes.fromhex(row["hash"]) != computed:
            return False, f"BROKEN at record {seq}: its hash does not match its contents"
        if anchor is not None and seq == anchor[0]:
            anchored = computed
        prev = computed
        count = seq
    if anchor is not None:
        seq, kept = anchor
        if anchored is None:
            return False, f"BROKEN at record {seq}: the anchored record {seq} is missing"
        if anchored != kept:
            return False, f"BROKEN at record {seq}: record {seq} is not the anchored one"
    if count == 0:
        return True, "intact, 0 records"
    return True, f"intact, {count} records, head {count}:{prev.hex()}"


QUERY = """
SELECT json_build_object(
    'seq', seq,
    'occurred_micros', (extract(epoch FROM occurred_at) * 1000000)::bigint,
    'request_id', request_id, 'actor_subject', actor_subject,
    'actor_kind', actor_kind, 'on_behalf_of', on_behalf_of, 'role', role,
    'authority_id', authority_id, 'agency', agency, 'case_id', case_id,
    'child_ids', child_ids, 'action', action, 'decision', decision,
    'policy_ids', policy_ids, 'reason', reason, 'named_kind', named_kind,
    'named_id', named_id, 'credential_id', credential_id,
    'policy_set', policy_set,
    'prev_hash', encode(prev_hash, 'hex'), 'hash', encode(hash, 'hex'))
FROM {schema}.audit_log ORDER BY seq
"""


# Query parameters of a cpc database URL (sqlx's) that libpq does not know.
SQLX_ONLY = {"statement-cache-capacity"}


def libpq_url(database_url):
    """The URL as psql takes it: cpc's CPC_DATABASE_URL works as it is."""
    parts = urllib.parse.urlsplit(database_url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if k not in SQLX_ONLY]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def read_rows(database_url, schema):
    """The log's rows in seq order, as psql fetches them (10,000 at a time,
    so a log of millions of records is never held whole). Raises
    RuntimeError, once the rows it could read are read, if psql failed."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError("a schema name is lower-case letters, digits and _")
    with subprocess.Popen(
            ["psql", libpq_url(database_url), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-v", "FETCH_COUNT=10000",
             "-c", QUERY.format(schema=f'"{schema}"')],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as psql:
        try:
            for line in psql.stdout:
                if line.strip():
                    yield json.loads(line)
            stderr = psql.stderr.read()
            if psql.wait() != 0:
                if "audit_log\" does not exist" in stderr:
                    raise RuntimeError(
                        f"no audit log in schema {schema} (has cpcd served from this database?)")
                raise RuntimeError(stderr.strip() or "psql failed")
        finally:
            # A break found early leaves the rest unread: stop psql.
            if psql.poll() is None:
                psql.kill()


def parse_anchor(text):
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise argparse.ArgumentTypeError("an anchor is SEQ:HASH (64 hex digits)")
    return int(seq), bytes.fromhex(digest)


# The frozen vectors of crates/audit/tests/encoding.rs: this implementation
# must give the Rust one's hashes for the same record.
FROZEN = {
    "v1": "455f86b062fe8663008844b088ebe22f1b6b09f85c69cbefdd0f3987ab5cd8d7",
    "v2": "ea39e788f80655a2c7cf64f26ce0b2c1891d30e60b53208637608a5c42b48c4f",
    "v3": "7e4c0a73ce3196f0f99a7114b8887efe8f4c566a9590948f5af87123a2f24a0c",
    "v4": "9ccf349e6a2ec8e5cad8ededdb44875a3bcc78ebb2a013f36d3eb2758bebe185",
    "v4 full": "1198c30e1355601b8376c9bffe4c2b19f626f9f41932aeebb1f17dfbce5b6ab1",
}
DIGEST = "c6d743d88e7f8297fad7b43da39d47966ff8781ef5688e7089d2f739d825f179"


def frozen_record(**changes):
    record = {
        "occurred_micros": 1_740_819_600_123_456,
        "request_id": "req-1", "actor_subject": "user-1", "actor_kind": "person",
        "on_behalf_of": "user-2", "role": "social_worker", "authority_id": "la-916",
        "agency": None, "case_id": str(uuid.UUID(int=0x10)),
        "child_ids": [str(uuid.UUID(int=0xA)), str(uuid.UUID(int=0xB))],
        "action": "/cpc.cases.v1.CasesService/GetChild", "decision": "deny",
        "policy_ids": ["case-membership-active"], "reason": "no active membership",
        "named_kind": None, "named_id": None, "credential_id": None, "policy_set": None,
    }
    record.update(changes)
    return record


def self_test():
    named = {"named_kind": "conference", "named_id": "0b4e"}
    cases = {
        "v1": frozen_record(),
        "v2": frozen_record(**named),
        "v3": frozen_record(credential_id="token:jti-1"),
        "v4": frozen_record(policy_set=DIGEST),
        "v4 full": frozen_record(credential_id="token:jti-1", policy_set=DIGEST, **named),
    }
    for name, record in cases.items():
        got = chain_hash(GENESIS, 7, record).hex()
        assert got == FROZEN[name], f"{name}: {got}"
    # A chain of all four versions verifies, and each kind of damage is found.
    rows, prev = [], GENESIS
    for seq, record in enumerate(cases.values(), start=1):
        digest = chain_hash(prev, seq, record)
        rows.append(dict(record, seq=seq, prev_hash=prev.hex(), hash=digest.hex()))
        prev = digest
    ok, line = verify(rows)
    assert ok and line == f"intact, 5 records, head 5:{prev.hex()}", line
    edited = [dict(r) for r in rows]
    edited[2]["credential_id"] = "token:jti-other"
    assert verify(edited) == (False, "BROKEN at record 3: its hash does not match its contents")
    assert verify(rows[:2] + rows[3:])[1] == "BROKEN at record 3: record 3 is missing"
    anchor = (5, bytes.fromhex(rows[4]["hash"]))
    assert verify(rows, anchor)[0]
    assert verify(rows[:4], anchor) == (
        False, "BROKEN at record 5: the anchored record 5 is missing")
    assert libpq_url("postgres://u@h:5432/db?statement-cache-capacity=0&sslmode=verify-full") == (
        "postgres://u@h:5432/db?sslmode=verify-full")
    print("verify_audit self-test: ok (5 frozen hashes, 4 damaged chains, 1 URL)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--schema")
    parser.add_argument("--anchor", type=parse_anchor)
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return 0
    if not args.database_url or not args.schema:
        parser.error("give --database-url and --schema, or --self-test")
    try:
        ok, line = verify(read_rows(args.database_url, args.schema), args.anchor)
    except (RuntimeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
