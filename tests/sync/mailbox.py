#!/usr/bin/env python3
"""The server side of the sync tests, through Python's imaplib (a client
independent of imap.h), with the account from $IMAP_TEST_* (DIR/env):

  mailbox.py populate N      several folders, N messages in all (sizes from
                             a few hundred bytes to ~40 KB, mixed flags)
  mailbox.py change PERCENT  that share of the messages changed: new ones
                             appended, flags changed, some expunged
  mailbox.py verify DIR      the Maildir DIR (as imapcat sync writes it:
                             INBOX in DIR, folder F in DIR/.F) holds exactly
                             the server's messages, byte for byte, with the
                             same flags; prints a summary, exits 1 if not
"""
import imaplib
import os
import random
import re
import sys

BASE = ["Work", "Work/Projects", "Archive", "Lists"]
FOLDERS = ["INBOX"]      # filled in by connect(): the server's prefix and delimiter
DELIM = "."
SYSFLAGS = [("\\Draft", "D"), ("\\Flagged", "F"), ("$Forwarded", "P"),
            ("\\Answered", "R"), ("\\Seen", "S"), ("\\Deleted", "T")]


def connect():
    global DELIM
    m = imaplib.IMAP4(os.environ["IMAP_TEST_HOST"], int(os.environ["IMAP_TEST_PORT"]))
    m.login(os.environ["IMAP_TEST_USER"], os.environ["IMAP_TEST_PASS"])
    # the personal namespace: (("" ".")) on Dovecot, (("INBOX." ".")) on
    # Cyrus, (("" "/")) on Mailutils
    prefix, DELIM = "", "."
    typ, data = m.namespace()
    mm = re.match(rb'\(\("([^"]*)" "(.)"', data[0] or b"")
    if mm:
        prefix, DELIM = mm.group(1).decode(), mm.group(2).decode()
    del FOLDERS[1:]
    FOLDERS.extend(prefix + f.replace("/", DELIM) for f in BASE)
    return m


def message(rng, n):
    lines = ["From: Sender %d <s%d@example.org>" % (n, n % 17),
             "To: alice@example.org",
             "Subject: sync test %d %s" % (n, "x" * rng.randint(0, 40)),
             "Message-ID: <sync-%d-%d@example.org>" % (n, rng.randint(0, 1 << 30)),
             ""]
    body_lines = rng.choice([3, 10, 60, 600])
    for i in range(body_lines):
        lines.append("line %d of message %d: %s" % (i, n, "abcdefghij" * rng.randint(0, 6)))
    return ("\r\n".join(lines) + "\r\n").encode()


def flags_for(rng):
    # system flags only: Mailutils refuses a keyword such as $Forwarded
    f = [name for name, _ in SYSFLAGS[:5] if name[0] == "\\" and rng.random() < 0.3]
    return "(" + " ".join(f) + ")"


def settle(m):
    # Mailutils gives a message appended to a Maildir its UID when a
    # session scans the folder, and does not keep it after an EXAMINE: the
    # next session numbers it again. A read-write SELECT fixes the UIDs.
    for f in FOLDERS:
        m.select('"%s"' % f)
        m.close()


def populate(n):
    rng = random.Random(19)
    m = connect()
    for f in FOLDERS[1:]:
        m.create('"%s"' % f)
    for i in range(n):
        folder = FOLDERS[0] if i % 2 == 0 else rng.choice(FOLDERS[1:])
        m.append('"%s"' % folder, flags_for(rng), None, message(rng, i))
    settle(m)
    m.logout()


def change(percent):
    rng = random.Random(int(percent * 1000) + 7)
    m = connect()
    total = 0
    for f in FOLDERS:
        typ, data = m.status('"%s"' % f, "(MESSAGES)")
        total += int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
    k = max(1, int(total * percent / 100))
    done = {"new": 0, "flags": 0, "expunged": 0}
    for j in range(k):
        f = rng.choice(FOLDERS)
        m.append('"%s"' % f, flags_for(rng), None, message(rng, 100000 + j))
        done["new"] += 1
    for what in ("flags", "expunged"):
        for j in range(k):
            f = rng.choice(FOLDERS)
            m.select('"%s"' % f)
            typ, data = m.uid("SEARCH", None, "ALL")
            uids = data[0].split()
            if not uids:
                continue
            u = rng.choice(uids).decode()
            if what == "flags":
                m.uid("STORE", u, "FLAGS", flags_for(rng))
            else:
                m.uid("STORE", u, "+FLAGS.SILENT", "(\\Deleted)")
                m.expunge()
            done[what] += 1
            m.close()
    settle(m)
    m.logout()
    print("changed: %(new)d new, %(flags)d flag changes, %(expunged)d expunged" % done)


def server_state(m, folder):
    typ, _ = m.select('"%s"' % folder, readonly=True)
    if typ != "OK":
        return None
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    msgs = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        uid = int(re.search(rb"UID (\d+)", head).group(1))
        fl = re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split()
        letters = "".join(sorted(l for name, l in SYSFLAGS if name in fl))
        msgs[uid] = (letters, body)
    m.close()
    return msgs


def local_state(d):
    msgs = {}
    for sub in ("cur", "new"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            mm = re.search(r",U=(\d+)", name)
            if not mm:
                continue
            uid = int(mm.group(1))
            if uid in msgs:
                msgs[uid] = ("DUPLICATE", b"")
                continue
            info = name.split(":2,", 1)
            letters = info[1] if len(info) == 2 else ""
            with open(os.path.join(p, name), "rb") as fp:
                msgs[uid] = (letters, fp.read())
    return msgs


def verify(top):
    m = connect()
    bad = 0
    count = 0
    for f in FOLDERS:
        srv = server_state(m, f)
        d = top if f == "INBOX" else os.path.join(top, "." + f.replace(DELIM, "."))
        loc = local_state(d)
        count += len(srv)
        for uid in sorted(set(srv) | set(loc)):
            if uid not in loc:
                why = "missing locally"
            elif uid not in srv:
                why = "expunged on the server, still local"
            elif loc[uid][0] != srv[uid][0]:
                why = "flags %r locally, %r on the server" % (loc[uid][0], srv[uid][0])
            elif loc[uid][1] != srv[uid][1]:
                why = "bytes differ (%d local, %d server)" % (len(loc[uid][1]), len(srv[uid][1]))
            else:
                continue
            bad += 1
            if bad <= 10:
                print("  %s UID %d: %s" % (f, uid, why))
    m.logout()
    print("verified %d messages in %d folders: %d differences" % (count, len(FOLDERS), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "populate":
        populate(int(sys.argv[2]))
    elif cmd == "change":
        change(float(sys.argv[2]))
    elif cmd == "verify":
        sys.exit(verify(sys.argv[2]))
    else:
        sys.exit("usage: mailbox.py populate N | change PERCENT | verify DIR")
