#!/usr/bin/env python3
"""Runs a few seconds, then usually exits with code 1 ("crash"), sometimes with 0."""
import random
import sys
import time

lifetime = random.uniform(2, 12)
print(f"flaky: up for {lifetime:.1f}s", flush=True)
time.sleep(lifetime)
if random.random() < 0.8:
    print("flaky: crashing", file=sys.stderr, flush=True)
    sys.exit(1)
print("flaky: clean exit", flush=True)
