#!/usr/bin/env python3
"""A small service for the examples that tells Director when it is ready (sd_notify).

It sends STATUS= while warming up and READY=1 once done, on the datagram socket named by
$NOTIFY_SOCKET (an `@` name is abstract), as sd_notify(3) would; then it serves ticks."""
import os
import signal
import socket
import sys
import time


def notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), address)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
notify("STATUS=warming up")
time.sleep(1)
notify("STATUS=serving\nREADY=1")
print("service ready", flush=True)
while True:
    time.sleep(5)
