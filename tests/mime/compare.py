#!/usr/bin/env python3
"""The decoding differential test's judge (tests/mime/run.sh).

    python3 tests/mime/compare.py GOT.tsv [--imapcat SUMMARY] FILE.eml...

For every message (the i-th file is message number i), Python's email
package (policy default) decodes the subject, the From (as "Name <addr>"
or the address alone), the date, and every leaf part in IMAP section
numbering: its file name and the sha256 of its decoded bytes. Each must
equal what it_mime printed from imap.h: names byte for byte, bytes by
sha256, both when the server decoded (BINARY) and when imap.h did. One
"ok"/"FAIL" line per message; the last line is "N passed, N failed". With --imapcat, SUMMARY is `imapcat URL summary
N` of the same mailbox: each line must be UID, date, from and subject as
Python decodes them (TAB, CR and LF made spaces)."""
import hashlib, sys
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import parseaddr


def leaves(msg):
    out, stack = [], [(msg, "", True)]
    while stack:
        part, pre, top = stack.pop()
        if part.get_content_type() == "message/rfc822" and not top:
            inner = part.get_payload(0)
            if not inner.is_multipart():
                out.append((pre + ".1", inner))
                continue
            part = inner
        if part.is_multipart():
            kids = part.get_payload()
            for i in range(len(kids), 0, -1):
                stack.append((kids[i - 1], "%s.%d" % (pre, i) if pre else str(i), False))
            continue
        out.append((pre or "1", part))
    return out


def sha(path):
    if path == "-":
        return "missing"
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def unhex(s):
    return "" if s == "-" else bytes.fromhex(s).decode("utf-8", "replace")


def main():
    got = {}
    parts = {}
    binary = 0
    for line in open(sys.argv[1], encoding="ascii"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "M":
            got[int(f[1])] = (unhex(f[3]), unhex(f[4]), unhex(f[5]))
        elif f[0] == "P":
            parts.setdefault(int(f[1]), []).append((f[2], unhex(f[3]), f[4], f[5]))
        elif f[0] == "B":
            binary = int(f[1])
    files = sys.argv[2:]
    summary = None
    if files and files[0] == "--imapcat":
        summary = {}
        for line in open(files[1], encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            summary[int(f[0])] = f[1:]
        files = files[2:]
    passed = failed = 0
    clean = lambda t: t.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    counts = {"encoded subjects": 0, "file names": 0, "parts": 0,
              "names where policy default keeps the space": 0}
    for i, path in enumerate(files, 1):
        with open(path, "rb") as fh:
            raw = fh.read()
        msg = message_from_bytes(raw, policy=policy.default)
        subject = str(msg["subject"])
        a = msg["from"].addresses[0]
        name = a.display_name
        # policy default's address parser keeps the space between two
        # adjacent encoded words of a display name, which RFC 2047 §6.2
        # says to drop (its unstructured parser and email.header drop
        # it): there the judge takes email.header's reading
        raw_name = parseaddr(message_from_bytes(raw)["from"])[0]
        if "=?" in raw_name:
            rfc = str(make_header(decode_header(raw_name)))
            if rfc != name:
                counts["names where policy default keeps the space"] += 1
                name = rfc
        frm = "%s <%s>" % (name, a.addr_spec) if name else a.addr_spec
        date = str(msg["date"])
        if "=?" in str(message_from_bytes(raw).get("subject", "")):
            counts["encoded subjects"] += 1
        want = [(sec, p.get_filename() or "", hashlib.sha256(p.get_payload(decode=True) or b"").hexdigest())
                for sec, p in leaves(msg)]
        errs = []
        g = got.get(i)
        if not g:
            errs.append("no summary")
        else:
            for what, w, h in (("subject", subject, g[0]), ("from", frm, g[1]), ("date", date, g[2])):
                if w != h:
                    errs.append("%s: python %r, imap.h %r" % (what, w, h))
        have = parts.get(i, [])
        if [p[0] for p in have] != [w[0] for w in want]:
            errs.append("sections: python %s, imap.h %s" % ([w[0] for w in want], [p[0] for p in have]))
        else:
            for (sec, name, h), (_, gname, srv, cli) in zip(want, have):
                counts["parts"] += 1
                if name:
                    counts["file names"] += 1
                if name != gname:
                    errs.append("part %s file name: python %r, imap.h %r" % (sec, name, gname))
                for how, p in (("server-decoded", srv), ("imap.h-decoded", cli)):
                    if sha(p) != h:
                        errs.append("part %s %s bytes differ (sha256 %s, python %s)" % (sec, how, sha(p)[:12], h[:12]))
        if summary is not None:
            line = [clean(date), clean(frm), clean(subject)]
            if summary.get(i) != line:
                errs.append("imapcat summary: python %r, imapcat %r" % (line, summary.get(i)))
        if errs:
            failed += 1
            print("FAIL message %d (%s)" % (i, path))
            for e in errs:
                print("  " + e)
        else:
            passed += 1
            print("ok   message %d: subject, from, date, %d part(s) as Python decodes them%s" % (
                i, len(want), " (imapcat summary too)" if summary is not None else ""))
    if binary > 0:
        passed += 1
        print("ok   the server decoded %d parts (BINARY, RFC 3516)" % binary)
    else:
        failed += 1
        print("FAIL no part was decoded by the server (BINARY)")
    print("note: %d messages, %d with encoded words in the subject, %d parts, %d file names; %d display "
          "names judged by email.header (RFC 2047 §6.2)" % (
              len(files), counts["encoded subjects"], counts["parts"], counts["file names"],
              counts["names where policy default keeps the space"]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main())
