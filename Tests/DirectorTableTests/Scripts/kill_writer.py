#!/usr/bin/env python3
"""A writer to kill -9 mid-write: commits Director-format child rows and events to a table
in a tight loop, forever. Prints "ready" after the first commit.

usage: kill_writer.py TABLE_DIR
"""
import json
import struct
import sys
import time

import lmdb


def stamp(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def main(table_dir):
    env = lmdb.open(table_dir, max_dbs=16, map_size=64 << 20, subdir=True)
    dbs = {name: env.open_db(name.encode()) for name in ["children", "groups", "events", "meta", "specs"]}
    with env.begin(write=True) as txn:
        txn.put(b"format", b'"1"', db=dbs["meta"])
        cursor = txn.cursor(db=dbs["events"])
        seq = struct.unpack(">Q", cursor.key())[0] if cursor.last() else 0
    round_no = 0
    while True:
        round_no += 1
        now = int(time.time() * 1000)
        with env.begin(write=True) as txn:
            for i in range(50):
                child = {"id": f"kill/w/{i}", "group": "kill", "job": "w", "instance": i, "state": "running",
                         "pid": 1000 + i, "pgid": 1000 + i, "start_ticks": round_no, "started_at": stamp(now),
                         "restarts": round_no, "last_exit": {"signal": "KILL", "at": stamp(now)},
                         "next_restart_at": None, "spec_hash": "00000000deadbeef", "updated_at": stamp(now)}
                txn.put(child["id"].encode(), json.dumps(child, separators=(",", ":")).encode(), db=dbs["children"])
                seq += 1
                event = {"seq": seq, "at": stamp(now), "id": child["id"], "kind": "restart", "detail": f"round {round_no}"}
                txn.put(struct.pack(">Q", seq), json.dumps(event).encode(), db=dbs["events"], append=True)
        if round_no == 1:
            print("ready", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
