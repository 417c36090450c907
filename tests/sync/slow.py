#!/usr/bin/env python3
"""stdin to stdout at about 400 KB/s: a slow server for the SIGINT test."""
import os
import sys
import time

while True:
    b = os.read(0, 4096)
    if not b:
        break
    os.write(1, b)
    time.sleep(0.01)
sys.exit(0)
