#!/usr/bin/env python3
"""Write messages straight into a Maildir's cur/ (issue 6, e2e.sh): faster
than APPEND by far. Deterministic (fixed seed).

    e2e_mkmail.py MAILDIR small N     realistic small messages (~1-6 KB)
    e2e_mkmail.py MAILDIR big N       ~100 KB messages (base64 attachment)
"""
import os, random, sys, base64

NAMES = ["Alice Martin", "Bob Dupont", "Chloé Bernard", "David Kim", "Eve O'Neil",
         "Frank Müller", "Grace Hopper", "Heidi Schmidt", "Ivan Petrov", "Judy Chen"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "lists.example.io"]
WORDS = ("the of and to in is that for it as was with be by on not he this are or "
         "his from at which but have an they you were her she there been one all "
         "report meeting budget release draft review schedule invoice server patch "
         "deploy quarter results team update question proposal").split()
FLAGS = ["", "S", "S", "S", "RS", "FS", "S", "", "ST", "S"]


def addr(r):
    n = r.choice(NAMES)
    local = n.split()[0].lower().replace("é", "e").replace("ü", "u").replace("'", "")
    return n, "%s@%s" % (local, r.choice(DOMAINS))


def fmt(a):
    name, mail = a
    if any(ord(c) > 127 for c in name):
        name = "=?UTF-8?B?%s?=" % base64.b64encode(name.encode()).decode()
    elif "'" in name:
        name = '"%s"' % name
    return "%s <%s>" % (name, mail)


def text(r, n):
    out, line = [], []
    for _ in range(n):
        line.append(r.choice(WORDS))
        if len(line) > 11:
            out.append(" ".join(line))
            line = []
    out.append(" ".join(line))
    return "\r\n".join(out) + "\r\n"


def headers(r, i):
    h = ["Return-Path: <%s>" % addr(r)[1],
         "Received: from mx%d.example.com (mx.example.com [192.0.2.%d]) by imap.example.com"
         " with ESMTPS id %08x for <alice@example.com>; Mon, 3 Mar 2025 10:%02d:%02d +0000"
         % (r.randrange(9), r.randrange(255), r.getrandbits(32), r.randrange(60), r.randrange(60)),
         "Date: Mon, %d Mar 2025 %02d:%02d:%02d +0100" % (1 + i % 28, r.randrange(24), r.randrange(60), r.randrange(60)),
         "From: " + fmt(addr(r)),
         "To: " + ", ".join(fmt(addr(r)) for _ in range(1 + r.randrange(3)))]
    if r.random() < 0.4:
        h.append("Cc: " + ", ".join(fmt(addr(r)) for _ in range(1 + r.randrange(4))))
    subj = " ".join(r.choice(WORDS) for _ in range(3 + r.randrange(6)))
    if r.random() < 0.1:
        subj = "=?UTF-8?Q?R=C3=A9sum=C3=A9_?= " + subj
    h.append("Subject: %s%s" % ("Re: " if r.random() < 0.3 else "", subj))
    h.append("Message-ID: <%d.%08x@example.com>" % (i, r.getrandbits(32)))
    if r.random() < 0.3:
        h.append("In-Reply-To: <%d.%08x@example.com>" % (max(1, i - 1), r.getrandbits(32)))
    h.append("MIME-Version: 1.0")
    return h


def small(r, i):
    h = headers(r, i)
    kind = r.random()
    if kind < 0.6:
        h.append("Content-Type: text/plain; charset=utf-8")
        h.append("Content-Transfer-Encoding: 8bit")
        body = text(r, 50 + r.randrange(500))
    elif kind < 0.9:
        b = "=-alt-%08x" % r.getrandbits(32)
        h.append('Content-Type: multipart/alternative; boundary="%s"' % b)
        t = text(r, 50 + r.randrange(300))
        body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s"
                "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p></body></html>\r\n"
                "--%s--\r\n" % (b, t, b, t.replace("\r\n", "<br>\r\n"), b))
    else:
        b = "=-mix-%08x" % r.getrandbits(32)
        h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
        att = base64.encodebytes(r.randbytes(600 + r.randrange(2000))).decode().replace("\n", "\r\n")
        body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s"
                "--%s\r\nContent-Type: application/pdf; name=\"report-%d.pdf\"\r\n"
                "Content-Disposition: attachment; filename=\"report-%d.pdf\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
                % (b, text(r, 40 + r.randrange(100)), b, i, i, att, b))
    return "\r\n".join(h) + "\r\n\r\n" + body


def big(r, i):
    h = headers(r, i)
    b = "=-big-%08x" % r.getrandbits(32)
    h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
    att = base64.encodebytes(r.randbytes(70000 + r.randrange(8000))).decode().replace("\n", "\r\n")
    body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s"
            "--%s\r\nContent-Type: image/jpeg; name=\"photo-%d.jpg\"\r\n"
            "Content-Disposition: attachment; filename=\"photo-%d.jpg\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
            % (b, text(r, 200 + r.randrange(400)), b, i, i, att, b))
    return "\r\n".join(h) + "\r\n\r\n" + body


def main():
    maildir, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r = random.Random(6 if kind == "small" else 66)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)
    total = 0
    make = small if kind == "small" else big
    for i in range(1, n + 1):
        data = make(r, i).encode()
        total += len(data)
        # Maildir name: time.unique.host,S=size:2,flags (S= saves a stat)
        name = "%d.M%dP1.bench,S=%d:2,%s" % (1740990000 + i, i, len(data), r.choice(FLAGS))
        with open(os.path.join(maildir, "cur", name), "wb") as f:
            f.write(data)
    print("%s %d messages %d bytes" % (kind, n, total))


main()
