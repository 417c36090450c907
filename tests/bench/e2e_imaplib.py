#!/usr/bin/env python3
"""e2e_imaplib - Python's imaplib against a live server (issue 6, e2e.sh).

    e2e_imaplib.py HOST PORT USER PASS MAILBOX meta|bodies

Logs in, selects MAILBOX read-only, then times one
uid('FETCH', '1:*', parts): imaplib splits the answer into lines and
literals and stops there (it does not decode ENVELOPE or BODYSTRUCTURE:
that would be the application's work). Prints "result ..." like the others.
"""
import imaplib, resource, sys, time


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    host, port, user, pw, box, test = sys.argv[1:7]
    parts = "(UID BODY.PEEK[])" if test == "bodies" else "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
    imaplib._MAXLINE = 1 << 30          # a BODYSTRUCTURE line may be long
    m = imaplib.IMAP4(host, int(port))
    m.login(user, pw)
    typ, _ = m.select(box, readonly=True)
    assert typ == "OK"
    w0, c0 = time.monotonic(), cpu()
    typ, data = m.uid("FETCH", "1:*", parts)
    n = sum(1 for d in data if d is not None and d != b")")
    lit = sum(len(d[1]) for d in data if isinstance(d, tuple))
    wall, c = time.monotonic() - w0, cpu() - c0
    assert typ == "OK", typ
    m.logout()
    print("result client=imaplib test=%s inflight=1 wall=%.4f cpu=%.4f messages=%d literal_bytes=%d"
          % (test, wall, c, n, lit))


main()
