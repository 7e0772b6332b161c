#!/usr/bin/env python3
"""Reads every record of a Director state table with the Python `lmdb` package and
validates it against the JSON schemas.

usage: validate_table.py TABLE_DIR SCHEMAS_DIR
Prints one JSON summary line ({"children": n, ...}) and exits 0, or prints the problems
and exits 1. Opens the table read-only, so it works while the daemon writes.
"""
import json
import struct
import sys

import jsonschema
import lmdb

import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmdb_header import damage  # noqa: E402


def main(table_dir, schemas_dir):
    def load(name):
        with open(f"{schemas_dir}/{name}.schema.json") as f:
            return jsonschema.Draft202012Validator(json.load(f))

    validators = {db: load(name) for db, name in
                  [("children", "child"), ("groups", "group"), ("events", "event"), ("specs", "spec")]}
    meta_validator = load("meta")
    problems = []
    counts = {}
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
            previous_seq = 0
            for key, value in txn.cursor(db=db):
                counts[db_name] += 1
                record = json.loads(value.decode("utf-8"))
                for error in validator.iter_errors(record):
                    problems.append(f"{db_name}/{key!r}: {error.message}")
                if db_name == "children" and record.get("id") != key.decode():
                    problems.append(f"children/{key!r}: id {record.get('id')!r} is not the key")
                if db_name == "groups" and (record.get("path") or "/") != key.decode():
                    problems.append(f"groups/{key!r}: path {record.get('path')!r} is not the key")
                if db_name == "events":
                    (seq,) = struct.unpack(">Q", key)
                    if record.get("seq") != seq:
                        problems.append(f"events/{seq}: seq {record.get('seq')} is not the key")
                    if seq <= previous_seq:
                        problems.append(f"events/{seq}: not increasing")
                    previous_seq = seq
        meta_db = env.open_db(b"meta", txn=txn, create=False)
        meta = {k.decode(): json.loads(v.decode("utf-8")) for k, v in txn.cursor(db=meta_db)}
        counts["meta"] = len(meta)
        for error in meta_validator.iter_errors(meta):
            problems.append(f"meta: {error.message}")
    if problems:
        print("\n".join(problems))
        return 1
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
