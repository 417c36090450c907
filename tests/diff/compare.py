#!/usr/bin/python3
"""Compare seq.py's lines (imaplib or imaplib2) with seq.c's (imap.h),
call by call, after normalising what differs between two runs on
different mailboxes: the mailbox name, UIDVALIDITY in APPENDUID/COPYUID,
Dovecot's timings, MODSEQ values. Known differences (tests/README.md)
pass with their reason. Usage: compare.py LIB PYOUT PYMBOX COUT CMBOX"""
import re, sys

lib, pyout, pymbox, cout, cmbox = sys.argv[1:6]

# (lib or "*", step) -> why the two differ; keep in step with tests/README.md
KNOWN = {
    ("*", "login"): "Dovecot puts [CAPABILITY ...] in the LOGIN OK for a client that never "
                    "asked CAPABILITY (imap.h, the greeting had them); imaplib always asks, so "
                    "Dovecot sends them untagged and the OK text is bare",
    ("*", "authenticate-plain"): "as login: the [CAPABILITY ...] code rides on the OK to imap.h",
    ("*", "login-cram-md5"): "as login: the [CAPABILITY ...] code rides on the OK to imap.h",
    ("*", "Time2Internaldate-30feb"): "both refuse a day February lacks: Python raises "
                                      "ValueError, imap_internaldate_format_tm returns IMAP_E_ARGS",
    ("*", "capability"): "imap.h keeps the greeting's [CAPABILITY] code as an entry until asked "
                         "(imaplib consumed it with its own CAPABILITY at connect), and Dovecot "
                         "sent imaplib an untagged CAPABILITY at login",
    ("imaplib", "recent"): "imap_recent returns the newest RECENT count (imaplib's data[-1]) "
                           "as a number, not the list",
    ("imaplib2", "recent"): "imaplib2 returns type None with the list; imap_recent returns the "
                            "newest count",
    ("imaplib2", "enable"): "imaplib2 2.57's enable() keeps its state-change lock (the next "
                            "command hangs): not called",
    ("imaplib2", "unselect"): "imaplib2 has no unselect()",
    ("imaplib", "id"): "imaplib has no id() (imaplib2's; compared there)",
    ("imaplib", "idle"): "imaplib has no idle() (imaplib2's; compared there)",
    ("imaplib", "fetch-callback"): "imaplib has no callback= (imaplib2's; compared there)",
}


def norm(line, mbox):
    line = line.replace(mbox, "MBOX")
    line = re.sub(r"\((\d+\.\d+(?: \+ \d+\.\d+)*) secs\)", "(T secs)", line)
    line = re.sub(r"(APPENDUID|COPYUID) \d+", r"\1 V", line)
    line = re.sub(r"MODSEQ \(\d+\)", "MODSEQ (M)", line)
    if lib == "imaplib2":
        # CONDSTORE is not enabled there (KNOWN enable): no MODSEQ items
        line = line.replace("MODSEQ (M) ", "")
    return line


def load(path, mbox):
    steps, order = {}, []
    for raw in open(path, encoding="utf-8", errors="replace"):
        raw = raw.rstrip("\n")
        parts = raw.split("\t", 2)
        if len(parts) != 3:
            continue                    # a library's own log lines
        step = parts[0]
        steps[step] = norm(parts[1] + "\t" + parts[2], mbox)
        order.append(step)
    return steps, order


py, order = load(pyout, pymbox)
c, corder = load(cout, cmbox)
passed = failed = 0
for step in order + [s for s in corder if s not in py]:
    why = KNOWN.get((lib, step)) or KNOWN.get(("*", step))
    a, b = py.get(step), c.get(step)
    if a == b:
        print("ok   diff %s %s" % (lib, step))
        passed += 1
    elif why:
        print("ok   diff %s %s: known difference: %s" % (lib, step, why))
        passed += 1
    else:
        print("FAIL diff %s %s\n  %s: %s\n  imap.h: %s" % (lib, step, lib, a, b))
        failed += 1
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
