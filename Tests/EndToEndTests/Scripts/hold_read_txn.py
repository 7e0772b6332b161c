#!/usr/bin/env python3
"""Holds one read transaction on a Director state table for as long as asked: the slow
reader a daemon must never wait for.

usage: hold_read_txn.py TABLE_DIR MAX_SECONDS

Opens the table read-only, begins a read transaction and prints
  {"phase": "holding", "last_seq": n, "children": {id: pid}}
then keeps the transaction open until a line arrives on stdin (or stdin closes, or
MAX_SECONDS pass), reads again inside the same transaction and prints
  {"phase": "released", "last_seq": n, "children": {id: pid}, "held_seconds": s}
The second read must equal the first: a read transaction is a snapshot.
"""
import json
import select
import struct
import sys
import time

import lmdb


def view(env, txn):
    events = env.open_db(b"events", txn=txn, create=False)
    cursor = txn.cursor(db=events)
    last_seq = struct.unpack(">Q", cursor.key())[0] if cursor.last() else 0
    children_db = env.open_db(b"children", txn=txn, create=False)
    children = {k.decode(): json.loads(v)["pid"] for k, v in txn.cursor(db=children_db)}
    return {"last_seq": last_seq, "children": children}


def main(table_dir, max_seconds):
    env = lmdb.open(table_dir, readonly=True, max_dbs=16, lock=True)
    txn = env.begin()
    began = time.monotonic()
    print(json.dumps({"phase": "holding", **view(env, txn)}), flush=True)
    select.select([sys.stdin], [], [], max_seconds)
    held = time.monotonic() - began
    print(json.dumps({"phase": "released", **view(env, txn), "held_seconds": round(held, 3)}), flush=True)
    txn.abort()
    env.close()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
