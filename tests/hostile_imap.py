#!/usr/bin/python3
"""A hostile IMAP server for the examples (issue 13): it answers SELECT
with an absurd EXISTS count and SEARCH with numbers past it, then serves
tiny messages. Usage: hostile_imap.py PORTFILE EXISTS [SEARCH-NUMBERS...]
Binds 127.0.0.1 on a free port, writes it to PORTFILE, serves one
connection, exits."""
import socket, sys

portfile, exists = sys.argv[1], sys.argv[2]
numbers = sys.argv[3:] or ["1", "2", exists]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(portfile, "w").write(str(s.getsockname()[1]))
s.settimeout(30)
conn, _ = s.accept()
conn.settimeout(30)
f = conn.makefile("rb")
def send(b):
    conn.sendall(b.encode() if isinstance(b, str) else b)
send("* OK [CAPABILITY IMAP4rev1] hostile\r\n")
while True:
    line = f.readline()
    if not line:
        break
    parts = line.decode(errors="replace").rstrip("\r\n").split(" ")
    tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else "")
    if cmd in ("SELECT", "EXAMINE"):
        send("* %s EXISTS\r\n* 0 RECENT\r\n%s OK [READ-ONLY] done\r\n" % (exists, tag))
    elif cmd == "SEARCH":
        send("* SEARCH %s\r\n%s OK done\r\n" % (" ".join(numbers), tag))
    elif cmd == "FETCH":
        n = parts[2]
        msg = "Subject: hostile %s\r\n\r\nbody\r\n" % n
        send("* %s FETCH (RFC822 {%d}\r\n%s)\r\n%s OK done\r\n" % (n, len(msg), msg, tag))
    elif cmd == "LOGOUT":
        send("* BYE bye\r\n%s OK done\r\n" % tag)
        break
    else:
        send("%s OK done\r\n" % tag)
conn.close()
