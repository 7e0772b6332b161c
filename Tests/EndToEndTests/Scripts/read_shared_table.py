#!/usr/bin/env python3
"""Reads a state table several daemons share (DESIGN §4.1) with Python's lmdb, in one read
transaction, and prints one JSON object:

    {"nodes": {name: {"pid": p, "state_directory": ...}}, "children": {id: node},
     "groups": {key: node}, "event_nodes": [names]}

Usage: read_shared_table.py TABLE_DIR
"""

import json
import os
import sys

import lmdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "DirectorTableTests", "Scripts"))
from lmdb_header import damage  # noqa: E402


def main():
    table_dir = sys.argv[1]
    problem = damage(table_dir)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    env = lmdb.open(table_dir, readonly=True, max_dbs=16, lock=True)
    out = {"nodes": {}, "children": {}, "groups": {}, "event_nodes": []}
    with env.begin() as txn:
        meta = env.open_db(b"meta", txn=txn, create=False)
        raw = txn.get(b"nodes", db=meta)
        out["nodes"] = json.loads(raw) if raw else {}
        for name, field in (("children", "children"), ("groups", "groups")):
            db = env.open_db(name.encode(), txn=txn, create=False)
            for key, value in txn.cursor(db=db):
                out[field][key.decode()] = json.loads(value).get("node")
        events = env.open_db(b"events", txn=txn, create=False)
        out["event_nodes"] = sorted({json.loads(v).get("node") or "" for _, v in txn.cursor(db=events)})
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
