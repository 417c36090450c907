#!/usr/bin/env python3
"""Deterministic IMAP response corpora for tests/bench (issue 6).

    python3 tests/bench/gen.py OUTDIR [--scale F]

writes, as a server (shaped after Dovecot 2.3) would send them:

  fetchmeta.imap   UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
                   BODYSTRUCTURE) for 20,000 messages (~20 MB)
  bodies.imap      FETCH 1:2000 (UID BODY[]), literals of 2 KB .. 500 KB (~52 MB)
  liststatus.imap  LIST "" "*" RETURN (STATUS ...): 5,000 LIST + 5,000 STATUS
                   responses (~0.9 MB)
  search.imap      one SEARCH response of 1,000,000 numbers (~7.6 MB)
  sort.imap, esearch.imap, vanished.imap
                   the same million UIDs as SORT, as ESEARCH ALL and as
                   VANISHED (EARLIER) sequence sets (arena figures only)

Each file ends with the tagged OK. The tag is a bare number ("7") because
libetpan's mailimap_parse_response only accepts its own numeric tags.
--scale 0.1 gives the QUICK corpora (same shapes, a tenth of the counts).

The random numbers come from splitmix64 written out below, seeded with a
fixed constant, so the bytes do not depend on the Python version: the same
command gives the same files (run.sh prints their SHA-256).
"""
import hashlib
import os
import sys

TAG = b"7"
MASK = (1 << 64) - 1


class Rng:
    """splitmix64 (Steele, Lea, Flood 2014): tiny, fast, fixed forever."""

    def __init__(self, seed):
        self.s = seed & MASK

    def u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.u64() % n

    def between(self, a, b):
        return a + self.u64() % (b - a + 1)

    def chance(self, pct):
        return self.u64() % 1000 < int(pct * 10)

    def pick(self, seq):
        return seq[self.u64() % len(seq)]

    def weighted(self, pairs):
        total = sum(w for w, _ in pairs)
        r = self.u64() % total
        for w, v in pairs:
            if r < w:
                return v
            r -= w
        return pairs[-1][1]


# ---------------------------------------------------------------------------
# building blocks

FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Victor", "Walter", "Yvonne", "Zoe", "Hannah",
         "Lukas", "Sofia", "Mateo", "Amelia", "Noah", "Liam", "Emma", "Mia"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
        "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson",
        "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
        "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young"]
# 8-bit names: Dovecot sends strings with 8-bit bytes as literals
LAST8 = ["M\u00fcller", "Sch\u00e4fer", "Gonz\u00e1lez", "Nu\u00f1ez",
         "Lef\u00e8vre", "\u00d8stergaard", "Wi\u015bniewski",
         "\u0414\u043c\u0438\u0442\u0440\u0438\u0435\u0432",
         "\u7530\u4e2d", "Ko\u00e7"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.com",
           "lists.example.org", "university.example.edu", "shop.example.com",
           "news.example.com", "github.example.com", "calendar.example.com"]
WORDS = ["meeting", "report", "quarterly", "update", "invoice", "project",
         "review", "draft", "release", "notes", "agenda", "budget", "plan",
         "schedule", "feedback", "proposal", "contract", "status", "weekly",
         "summary", "question", "request", "approval", "design", "build",
         "deploy", "incident", "follow-up", "reminder", "team", "offsite",
         "roadmap", "launch", "customer", "support", "ticket", "order",
         "shipping", "confirmation", "newsletter", "digest", "security",
         "password", "account", "welcome", "invitation", "lunch", "travel"]
WORDS8 = ["B\u00fcro", "\u00dcbersicht", "r\u00e9union", "pr\u00e9sentation",
          "Stra\u00dfe", "Gr\u00fc\u00dfe", "caf\u00e9", "na\u00efve",
          "\u043e\u0442\u0447\u0451\u0442", "\u4f1a\u8b70", "\u00e5rsm\u00f8te",
          "\u2013", "\u20ac100", "\U0001F389"]
FLAGSETS = [b"(\\Seen)", b"(\\Seen)", b"(\\Seen)", b"(\\Seen)", b"()", b"()",
            b"(\\Seen \\Answered)", b"(\\Seen $Forwarded)", b"(\\Flagged \\Seen)",
            b"(\\Seen $NotJunk NonJunk)", b"($Junk \\Seen)", b"(\\Answered \\Seen $label1)",
            b"(\\Draft)", b"(\\Deleted \\Seen)"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]
ZONES = ["+0000", "+0100", "+0200", "-0500", "-0700", "+0530", "+0900"]


def astring(s):
    """An nstring the way Dovecot writes it: NIL, a quoted string (with
    \\" and \\\\ escaped) or, for 8-bit or CR/LF, a literal."""
    if s is None:
        return b"NIL"
    b = s.encode("utf-8") if isinstance(s, str) else s
    if any(c >= 0x80 or c in (0x0D, 0x0A) for c in b):
        return b"{%d}\r\n" % len(b) + b
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def hexid(rng, n):
    return "".join("0123456789abcdef"[rng.below(16)] for _ in range(n))


def rfc2822_date(rng):
    return "%s, %d %s %d %02d:%02d:%02d %s" % (
        rng.pick(DAYS), rng.between(1, 28), rng.pick(MONTHS),
        rng.between(2015, 2024), rng.below(24), rng.below(60), rng.below(60),
        rng.pick(ZONES))


def internaldate(rng):
    return b'"%02d-%s-%d %02d:%02d:%02d %s"' % (
        rng.between(1, 28), rng.pick(MONTHS).encode(), rng.between(2015, 2024),
        rng.below(24), rng.below(60), rng.below(60), rng.pick(ZONES).encode())


def person(rng):
    """(name, mailbox, host) of one address."""
    first = rng.pick(FIRST)
    kind = rng.below(100)
    if kind < 5:
        last = rng.pick(LAST8)                      # raw 8-bit -> literal
        name = "%s %s" % (first, last)
    elif kind < 14:
        last = rng.pick(LAST)                       # RFC 2047 encoded
        name = "=?UTF-8?Q?%s_%s?=" % (first, last)
    elif kind < 17:
        last = rng.pick(LAST)
        name = '"%s, %s"' % (last, first)           # escaped quotes
    elif kind < 30:
        last = rng.pick(LAST)
        name = None                                 # bare address
    else:
        last = rng.pick(LAST)
        name = "%s %s" % (first, last)
    mailbox = "%s.%s" % (first.lower(), last.lower().encode("ascii", "ignore").decode() or "x")
    return name, mailbox, rng.pick(DOMAINS)


def address(p):
    name, mailbox, host = p
    return b"(" + astring(name) + b" NIL " + astring(mailbox) + b" " + astring(host) + b")"


def address_list(rng, lo, hi, group_pct=0.0):
    """An address list, sometimes with RFC 2822 groups in it."""
    n = rng.between(lo, hi)
    if n == 0:
        return b"NIL"
    parts = []
    if rng.chance(group_pct):
        if rng.chance(50):
            # "undisclosed-recipients:;"
            parts.append(b'(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)')
            n -= 1
        else:
            members = b"".join(address(person(rng)) for _ in range(rng.between(1, 4)))
            parts.append(b'(NIL NIL "%s" NIL)' % rng.pick([b"team", b"project-x", b"Board"])
                         + members + b"(NIL NIL NIL NIL)")
            n -= 1
    for _ in range(max(n, 0)):
        parts.append(address(person(rng)))
    return b"(" + b"".join(parts) + b")"


def subject(rng):
    k = rng.below(100)
    words = [rng.pick(WORDS) for _ in range(rng.between(2, 8))]
    if k < 2:
        return None
    if k < 12:
        # 8-bit subject: goes as a literal
        words.insert(rng.below(len(words) + 1), rng.pick(WORDS8))
        return " ".join(words).capitalize()
    if k < 20:
        return "=?UTF-8?B?%s?=" % hexid(rng, rng.between(16, 48))
    if k < 30:
        return "Re: " + " ".join(words).capitalize()
    if k < 34:
        return 'Fwd: "%s" \\ %s' % (" ".join(words), rng.pick(WORDS))
    if k < 38:
        return "[%s] %s" % (rng.pick(["announce", "dev", "users", "ops"]),
                            " ".join(words))
    return " ".join(words).capitalize()


def msgid(rng):
    return "<%s.%s@%s>" % (hexid(rng, 12), hexid(rng, 8), rng.pick(DOMAINS))


def envelope(rng):
    frm = address_list(rng, 1, 1)
    sender = frm if rng.chance(90) else address_list(rng, 1, 1)
    reply = frm if rng.chance(85) else address_list(rng, 1, 2)
    to = address_list(rng, 1, 5, group_pct=6)
    cc = address_list(rng, 0, 3) if rng.chance(35) else b"NIL"
    bcc = address_list(rng, 1, 1) if rng.chance(3) else b"NIL"
    irt = astring(msgid(rng)) if rng.chance(30) else b"NIL"
    return (b"(" + astring(rfc2822_date(rng)) + b" " + astring(subject(rng)) + b" " +
            frm + b" " + sender + b" " + reply + b" " + to + b" " + cc + b" " +
            bcc + b" " + irt + b" " + astring(msgid(rng)) + b")")


# ---- BODYSTRUCTURE ---------------------------------------------------------

def params(pairs):
    if not pairs:
        return b"NIL"
    return b"(" + b" ".join(astring(k) + b" " + astring(v) for k, v in pairs) + b")"


def lang(rng):
    k = rng.below(100)
    if k < 85:
        return b"NIL"
    if k < 95:
        return astring(rng.pick(["en", "de", "fr", "en-US"]))
    return b"(" + b" ".join(astring(x) for x in ["en", rng.pick(["de", "fr", "ja"])]) + b")"


def location(rng):
    if rng.chance(3):
        return astring("https://%s/m/%s" % (rng.pick(DOMAINS), hexid(rng, 10)))
    return b"NIL"


def text_part(rng, sub, size=None):
    size = size or rng.between(200, 40000)
    lines = max(1, size // rng.between(40, 75))
    cs = rng.weighted([(70, "utf-8"), (20, "us-ascii"), (10, "iso-8859-1")])
    ps = [("charset", cs)]
    if sub == "plain" and rng.chance(20):
        ps.append(("format", "flowed"))
    enc = rng.weighted([(45, "quoted-printable"), (30, "7bit"), (15, "8bit"), (10, "base64")])
    return (b"(" + astring("text") + b" " + astring(sub) + b" " + params(ps) +
            b" NIL NIL " + astring(enc) + b" %d %d NIL NIL " % (size, lines) +
            lang(rng) + b" " + location(rng) + b")")


ATTACH = [("application", "pdf", "pdf"), ("image", "jpeg", "jpg"), ("image", "png", "png"),
          ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
          ("application", "zip", "zip"), ("text", "calendar", "ics"),
          ("application", "octet-stream", "bin")]


def attachment(rng, inline=False):
    typ, sub, ext = rng.pick(ATTACH)
    fname = "%s-%s.%s" % (rng.pick(WORDS), rng.between(1, 999), ext)
    if rng.chance(8):
        fname = "%s \u00fcbersicht.%s" % (rng.pick(WORDS), ext)     # 8-bit: literal
    size = rng.between(2000, 400000)
    ps = [("name", fname)]
    if typ == "text":
        ps.insert(0, ("charset", "utf-8"))
    cid = astring("<part%d.%s@%s>" % (rng.between(1, 9), hexid(rng, 8), rng.pick(DOMAINS))) if inline else b"NIL"
    desc = astring(fname) if rng.chance(10) else b"NIL"
    disp_ps = [("filename", fname)]
    if rng.chance(30):
        disp_ps.append(("size", str(size)))
    if rng.chance(15):
        disp_ps.append(("modification-date", rfc2822_date(rng)))
    disp = b"(" + astring("inline" if inline else "attachment") + b" " + params(disp_ps) + b")"
    extra = b" %d" % (size // 76) if typ == "text" else b""
    return (b"(" + astring(typ) + b" " + astring(sub) + b" " + params(ps) + b" " + cid +
            b" " + desc + b" " + astring("base64") + b" %d" % size + extra + b" NIL " + disp +
            b" " + lang(rng) + b" " + location(rng) + b")")


def boundary(rng):
    return rng.pick(["----=_Part_%d_%d.%d" % (rng.below(99999), rng.below(999999999), rng.below(10**13)),
                     "=-%s" % hexid(rng, 20), "_000_%s_" % hexid(rng, 32).upper(),
                     "000000000000%s" % hexid(rng, 16)])


def multipart(rng, sub, children):
    return (b"(" + b"".join(children) + b" " + astring(sub) + b" " +
            params([("boundary", boundary(rng))]) + b" NIL " + lang(rng) + b" " +
            location(rng) + b")")


def alternative(rng):
    return multipart(rng, "alternative", [text_part(rng, "plain"), text_part(rng, "html")])


def related(rng):
    imgs = [attachment(rng, inline=True) for _ in range(rng.between(1, 4))]
    return multipart(rng, "related", [text_part(rng, "html")] + imgs)


def message_rfc822(rng):
    inner = rng.pick([lambda: text_part(rng, "plain"), lambda: alternative(rng)])()
    size = rng.between(2000, 80000)
    return (b"(" + astring("message") + b" " + astring("rfc822") + b" NIL NIL NIL " +
            astring("7bit") + b" %d " % size + envelope(rng) + b" " + inner +
            b" %d NIL NIL NIL NIL)" % (size // 60))


def bodystructure(rng):
    shape = rng.weighted([(30, "plain"), (28, "alt"), (25, "mixed"), (8, "newsletter"),
                          (5, "forward"), (2, "report"), (2, "signed")])
    if shape == "plain":
        return text_part(rng, "plain")
    if shape == "alt":
        return alternative(rng)
    if shape == "mixed":
        kids = [rng.pick([lambda: text_part(rng, "plain"), lambda: alternative(rng)])()]
        kids += [attachment(rng) for _ in range(rng.between(1, 3))]
        return multipart(rng, "mixed", kids)
    if shape == "newsletter":
        return multipart(rng, "alternative", [text_part(rng, "plain"), related(rng)])
    if shape == "forward":
        return multipart(rng, "mixed", [text_part(rng, "plain"), message_rfc822(rng)])
    if shape == "report":
        status = (b"(" + astring("message") + b" " + astring("delivery-status") +
                  b" NIL NIL NIL " + astring("7bit") + b" %d NIL NIL NIL NIL)" % rng.between(300, 900))
        hdrs = (b"(" + astring("text") + b" " + astring("rfc822-headers") + b" " +
                params([("charset", "us-ascii")]) + b" NIL NIL " + astring("7bit") +
                b" %d %d NIL NIL NIL NIL)" % (rng.between(800, 3000), rng.between(15, 60)))
        return (b"(" + text_part(rng, "plain") + status + hdrs + b" " + astring("report") + b" " +
                params([("report-type", "delivery-status"), ("boundary", boundary(rng))]) +
                b" NIL NIL NIL)")
    sig = (b"(" + astring("application") + b" " + astring("pgp-signature") + b" " +
           params([("name", "signature.asc")]) + b" NIL " + astring("OpenPGP digital signature") +
           b" " + astring("7bit") + b" %d NIL " % rng.between(480, 900) +
           b"(" + astring("attachment") + b" " + params([("filename", "signature.asc")]) + b") NIL NIL)")
    return (b"(" + alternative(rng) + sig + b" " + astring("signed") + b" " +
            params([("micalg", "pgp-sha256"), ("protocol", "application/pgp-signature"),
                    ("boundary", boundary(rng))]) + b" NIL NIL NIL)")


def gen_fetchmeta(rng, count):
    out = []
    uid = rng.between(1, 50)
    for seq in range(1, count + 1):
        uid += 1 if rng.chance(85) else rng.between(2, 40)
        body = bodystructure(rng)
        size = rng.between(1500, 120000)
        out.append(b"* %d FETCH (UID %d FLAGS %s INTERNALDATE %s RFC822.SIZE %d ENVELOPE %s BODYSTRUCTURE %s)\r\n"
                   % (seq, uid, rng.pick(FLAGSETS), internaldate(rng), size, envelope(rng), body))
    out.append(TAG + b" OK Fetch completed (0.412 + 0.000 + 0.411 secs).\r\n")
    return b"".join(out)


# ---- message bodies -----------------------------------------------------------

B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def body_pools(rng):
    b64 = [bytes(B64[rng.below(64)] for _ in range(76)) + b"\r\n" for _ in range(1024)]
    text = []
    for _ in range(512):
        words = [rng.pick(WORDS) for _ in range(rng.between(6, 12))]
        text.append(" ".join(words).capitalize().encode() + b".\r\n")
    return b64, text


def message(rng, size, pools):
    """An RFC 5322 message of exactly `size` bytes."""
    b64, text = pools
    frm = "%s %s <%s.%s@%s>" % (rng.pick(FIRST), rng.pick(LAST), "user", hexid(rng, 4), rng.pick(DOMAINS))
    bnd = boundary(rng).encode()
    head = b"".join([
        b"Return-Path: <bounce-%s@%s>\r\n" % (hexid(rng, 10).encode(), rng.pick(DOMAINS).encode()),
        b"Delivered-To: me@example.com\r\n",
        b"Received: from mx%d.%s (mx.%s [192.0.2.%d])\r\n\tby mail.example.com (Postfix) with ESMTPS id %s\r\n\tfor <me@example.com>; %s\r\n"
        % (rng.below(9), rng.pick(DOMAINS).encode(), rng.pick(DOMAINS).encode(), rng.below(255),
           hexid(rng, 10).upper().encode(), rfc2822_date(rng).encode()),
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n\th=from:to:subject:date:message-id; bh=%s=;\r\n\tb=%s\r\n"
        % (hexid(rng, 43).encode(), hexid(rng, 120).encode()),
        b"From: %s\r\n" % frm.encode(),
        b"To: Me <me@example.com>\r\n",
        b"Subject: %s\r\n" % " ".join(rng.pick(WORDS) for _ in range(5)).encode(),
        b"Date: %s\r\n" % rfc2822_date(rng).encode(),
        b"Message-ID: %s\r\n" % msgid(rng).encode(),
        b"MIME-Version: 1.0\r\n",
        b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % bnd,
        b"--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" % bnd,
    ])
    parts = [head]
    n = len(head)
    att = b"\r\n--%s\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" % bnd
    tail = b"--%s--\r\n" % bnd
    for _ in range(rng.between(3, 30)):
        ln = rng.pick(text)
        if n + len(ln) + len(att) + len(tail) > size:
            break
        parts.append(ln)
        n += len(ln)
    parts.append(att)
    n += len(att)
    while n + 78 + len(tail) <= size:
        ln = b64[rng.below(1024)]
        parts.append(ln)
        n += 78
    pad = size - n - len(tail)
    if pad > 0:
        parts.append((b"Zm9v" * (pad // 4 + 1))[:max(pad - 2, 0)] + b"\r\n"[:pad])
    parts.append(tail)
    m = b"".join(parts)
    if len(m) > size:          # tiny sizes: cut (still a literal of that size)
        m = m[:size]
    assert len(m) == size, (len(m), size)
    return m


def body_size(rng):
    # skewed like real mail: most are small, a few carry big attachments
    band = rng.weighted([(852, (2048, 32768)), (133, (32768, 204800)), (15, (204800, 512000))])
    lo, hi = band
    # log-uniform inside the band
    import math
    x = rng.u64() / float(1 << 64)
    return int(math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo))))


def gen_bodies(rng, count):
    pools = body_pools(rng)
    out = []
    uid = 1000
    for seq in range(1, count + 1):
        uid += rng.between(1, 3)
        size = body_size(rng)
        out.append(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (seq, uid, size))
        out.append(message(rng, size, pools))
        out.append(b")\r\n")
    out.append(TAG + b" OK Fetch completed (1.020 + 0.000 + 1.019 secs).\r\n")
    return b"".join(out)


# ---- LIST / STATUS ------------------------------------------------------------

FOLDERS = ["Archive", "Projects", "Clients", "Lists", "Receipts", "Travel", "Family",
           "Work", "Newsletters", "Old Mail", "Team", "Vendors", "Support", "HR",
           "Finance", "Conferences", "Reading", "Hobbies", "Sch&APY-ne Gr&APw-&AN8-e",
           "R&AOk-sum&AOk-s"]


def gen_liststatus(rng, count):
    out = [b"* LIST (\\HasNoChildren) \"/\" INBOX\r\n",
           b"* STATUS INBOX (MESSAGES %d UNSEEN %d UIDNEXT %d UIDVALIDITY 1690000000 HIGHESTMODSEQ %d)\r\n"
           % (rng.between(1000, 90000), rng.below(300), rng.between(90000, 99999), rng.between(100000, 999999))]
    special = [(b"\\HasNoChildren \\Sent", "Sent"), (b"\\HasNoChildren \\Drafts", "Drafts"),
               (b"\\HasNoChildren \\Trash", "Trash"), (b"\\HasNoChildren \\Junk", "Junk"),
               (b"\\HasChildren \\Archive", "Archive")]
    names = []
    for attrs, name in special:
        names.append((attrs, name))
    i = 0
    while len(names) < count - 1:
        i += 1
        depth = rng.weighted([(20, 1), (45, 2), (30, 3), (5, 4)])
        parts = [rng.pick(FOLDERS)] + ["%s %d" % (rng.pick(FOLDERS), rng.between(2000, 2024)) if rng.chance(20)
                                       else rng.pick(FOLDERS) + ("-%d" % i if k == depth - 2 else "")
                                       for k in range(depth - 1)]
        name = "/".join(parts)
        attrs = rng.weighted([(70, b"\\HasNoChildren"), (25, b"\\HasChildren"),
                              (3, b"\\Noselect \\HasChildren"), (2, b"\\HasNoChildren \\Subscribed")])
        names.append((attrs, name))
    for attrs, name in names[:count - 1]:
        q = astring(name) if (" " in name or rng.chance(50)) else name.encode()
        out.append(b"* LIST (%s) \"/\" %s\r\n" % (attrs, q))
        if b"\\Noselect" in attrs:
            # RFC 5819: no STATUS for a \Noselect mailbox; keep pairs even
            out.append(b"* STATUS %s (MESSAGES 0 UNSEEN 0 UIDNEXT 1 UIDVALIDITY %d HIGHESTMODSEQ 1)\r\n"
                       % (q, rng.between(1500000000, 1700000000)))
            continue
        msgs = rng.between(0, 30000)
        out.append(b"* STATUS %s (MESSAGES %d UNSEEN %d UIDNEXT %d UIDVALIDITY %d HIGHESTMODSEQ %d)\r\n"
                   % (q, msgs, rng.below(min(msgs, 500) + 1), msgs + rng.between(1, 5000),
                      rng.between(1500000000, 1700000000), rng.between(1, 9999999)))
    out.append(TAG + b" OK List completed (0.081 + 0.000 + 0.080 secs).\r\n")
    return b"".join(out)


# ---- SEARCH and its relatives ----------------------------------------------------

def uids(rng, count):
    u, out = 0, []
    for _ in range(count):
        u += rng.between(1, 5)
        out.append(u)
    return out


def seqset(nums):
    """1,2,3,5 -> 1:3,5 (sorted input)."""
    out = []
    a = b = nums[0]
    for n in nums[1:]:
        if n == b + 1:
            b = n
            continue
        out.append(b"%d" % a if a == b else b"%d:%d" % (a, b))
        a = b = n
    out.append(b"%d" % a if a == b else b"%d:%d" % (a, b))
    return b",".join(out)


def gen_search(nums):
    return (b"* SEARCH " + b" ".join(b"%d" % n for n in nums) + b"\r\n" +
            TAG + b" OK Search completed (0.310 + 0.000 + 0.309 secs).\r\n")


def gen_sort(rng, nums):
    s = list(nums)
    for i in range(len(s) - 1, 0, -1):            # Fisher-Yates, our own rng
        j = rng.below(i + 1)
        s[i], s[j] = s[j], s[i]
    return (b"* SORT " + b" ".join(b"%d" % n for n in s) + b"\r\n" +
            TAG + b" OK Sort completed (0.520 + 0.000 + 0.519 secs).\r\n")


def gen_esearch(nums):
    return (b'* ESEARCH (TAG "' + TAG + b'") UID COUNT %d ALL ' % len(nums) + seqset(nums) + b"\r\n" +
            TAG + b" OK Search completed (0.300 + 0.000 + 0.299 secs).\r\n")


def gen_vanished(nums):
    return (b"* VANISHED (EARLIER) " + seqset(nums) + b"\r\n" +
            TAG + b" OK [CLOSED] Select completed (0.301 + 0.000 + 0.300 secs).\r\n")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    scale = 1.0
    if "--scale" in sys.argv:
        scale = float(sys.argv[sys.argv.index("--scale") + 1])
    os.makedirs(outdir, exist_ok=True)
    n = lambda x: max(1, int(x * scale))
    seed = 0x1D6A7E4C0FFEE006
    search_nums = uids(Rng(seed + 4), n(1000000))
    files = [
        ("fetchmeta.imap", lambda: gen_fetchmeta(Rng(seed + 1), n(20000))),
        ("bodies.imap", lambda: gen_bodies(Rng(seed + 2), n(2000))),
        ("liststatus.imap", lambda: gen_liststatus(Rng(seed + 3), n(5000))),
        ("search.imap", lambda: gen_search(search_nums)),
        ("sort.imap", lambda: gen_sort(Rng(seed + 5), search_nums)),
        ("esearch.imap", lambda: gen_esearch(search_nums)),
        ("vanished.imap", lambda: gen_vanished(search_nums)),
    ]
    for name, make in files:
        data = make()
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print("%-16s %10d bytes  sha256 %s" % (name, len(data), hashlib.sha256(data).hexdigest()))


if __name__ == "__main__":
    main()
