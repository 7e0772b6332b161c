#!/usr/bin/env python3
"""A light worker for the examples: one line every few seconds, stops cleanly on SIGTERM."""
import os
import signal
import sys
import time

slot = sys.argv[sys.argv.index("--slot") + 1] if "--slot" in sys.argv else "?"
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"worker {slot} ({os.environ.get('DIRECTOR_ID', '-')}) started", flush=True)
n = 0
while True:
    time.sleep(5)
    n += 1
    print(f"worker {slot}: tick {n}", flush=True)
