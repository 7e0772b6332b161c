#!/usr/bin/env python3
"""Reads a live Director daemon's state table with the Python `lmdb` package, read-only, in
one read transaction, and validates every record against the JSON schemas.

usage: validate_live_table.py TABLE_DIR SCHEMAS_DIR

Prints one JSON object and exits 0 when every record is valid:
  {"counts": {"children": n, ...}, "children": {id: {"state": s, "pid": p, "last_exit": e}},
   "event_seqs": [1, 2, ...], "meta_keys": [...], "daemon_pid": p}
Otherwise prints the problems, one per line, and exits 1. Adapted from
Tests/DirectorTableTests/Scripts/validate_table.py, with cross-record checks a live table
must also pass (keys agree with the records, seqs strictly increase, child ids agree with
their group/job/instance).
"""
import json
import struct
import sys

import jsonschema
import lmdb

import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "DirectorTableTests", "Scripts"))
from lmdb_header import damage  # noqa: E402

DATABASES = [("children", "child"), ("groups", "group"), ("events", "event"), ("specs", "spec")]


def main(table_dir, schemas_dir):
    def load(name):
        with open(f"{schemas_dir}/{name}.schema.json") as f:
            return jsonschema.Draft202012Validator(json.load(f))

    validators = {db: load(name) for db, name in DATABASES}
    meta_validator = load("meta")
    problems, counts, children, seqs = [], {}, {}, []
    # A truncated data.mdb would be a SIGBUS inside lmdb: one line and status 1 instead.
    problem = damage(table_dir)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    env = lmdb.open(table_dir, readonly=True, max_dbs=16, lock=True)
    with env.begin() as txn:
        for db_name, validator in validators.items():
            db = env.open_db(db_name.encode(), txn=txn, create=False)
            counts[db_name] = 0
            for key, value in txn.cursor(db=db):
                counts[db_name] += 1
                try:
                    record = json.loads(value.decode("utf-8"))
                except ValueError as error:
                    problems.append(f"{db_name}/{key!r}: not UTF-8 JSON: {error}")
                    continue
                for error in validator.iter_errors(record):
                    problems.append(f"{db_name}/{key!r}: {error.message}")
                check(db_name, key, record, problems, children, seqs)
        meta_db = env.open_db(b"meta", txn=txn, create=False)
        meta = {k.decode(): json.loads(v.decode("utf-8")) for k, v in txn.cursor(db=meta_db)}
        counts["meta"] = len(meta)
        for error in meta_validator.iter_errors(meta):
            problems.append(f"meta: {error.message}")
    env.close()
    if problems:
        print("\n".join(problems))
        return 1
    print(json.dumps({"counts": counts, "children": children, "event_seqs": seqs,
                      "meta_keys": sorted(meta), "daemon_pid": (meta.get("daemon") or {}).get("pid")},
                     sort_keys=True))
    return 0


def check(db_name, key, record, problems, children, seqs):
    """The checks a schema cannot express: keys agree with records, seqs increase."""
    if db_name == "children":
        expected = "/".join(p for p in [record.get("group"), record.get("job"), str(record.get("instance"))] if p)
        if record.get("id") != key.decode() or record.get("id") != expected:
            problems.append(f"children/{key!r}: id {record.get('id')!r}, expected key and {expected!r}")
        if record.get("state") == "running" and (record.get("pid") is None or record.get("pid") != record.get("pgid")):
            problems.append(f"children/{key!r}: running without a pid leading its own group")
        children[record.get("id")] = {"state": record.get("state"), "pid": record.get("pid"),
                                      "last_exit": record.get("last_exit")}
    # A node's root group (a table several daemons share) is stored under /NODE.
    elif db_name == "groups" and (record.get("path") or "/" + (record.get("node") or "")) != key.decode():
        problems.append(f"groups/{key!r}: path {record.get('path')!r} is not the key")
    elif db_name == "events":
        (seq,) = struct.unpack(">Q", key)
        if record.get("seq") != seq:
            problems.append(f"events/{seq}: seq {record.get('seq')} is not the key")
        if seqs and seq <= seqs[-1]:
            problems.append(f"events/{seq}: not increasing")
        seqs.append(seq)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
