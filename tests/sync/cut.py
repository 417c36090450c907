#!/usr/bin/env python3
"""cut.py N PIDFILE: pass stdin to stdout up to N bytes, then kill -9 the
server process whose pid is in PIDFILE and stop: the connection dies
mid-session, as when the server's imap process is killed."""
import os
import signal
import sys

left = int(sys.argv[1])
while left > 0:
    b = os.read(0, min(4096, left))
    if not b:
        break
    os.write(1, b)
    left -= len(b)
try:
    with open(sys.argv[2]) as fp:
        os.kill(int(fp.read()), signal.SIGKILL)
except (OSError, ValueError):
    pass
