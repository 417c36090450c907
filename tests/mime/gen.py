#!/usr/bin/env python3
"""Generate a mailbox of MIME messages for the decoding differential test.

    python3 tests/mime/gen.py DIR [COUNT]

Writes DIR/0001.eml ... (CRLF line ends, deterministic for a COUNT).
Headers carry RFC 2047 words (UTF-8 B and Q, ISO-8859-1, KOI8-R, a word
per character or per chunk, folded lines); file names come plain, RFC
2231 (one piece, continuations, ISO-8859-1), RFC 2047 inside quotes, or
only in Content-Type name=; bodies are 7bit, quoted-printable or base64,
in single parts, multipart/mixed and /alternative, nested, and inside an
attached message/rfc822."""
import base64, datetime, email.utils, os, quopri, random, re, sys

TEXTS = [
    "Hello world", "Café ☕ et croissants", "Grüße aus München", "naïve résumé",
    "日本語のテスト", "Ελληνικά γράμματα", "🎉 party at 8", "Ünïcödé—dashes “quoted”",
    "Re: the plan, and a much longer subject line that will need folding to fit",
    "Zażółć gęślą jaźń", "Привет, мир", "plain ascii subject",
]
NAMES = ["José Núñez", "Ann Smith", "Zoë Ledger", "李小龙", "Ólafur Arnalds", "Bob"]
FILES = ["report.pdf", "Résumé final.pdf", "café menu.txt", "日本語ファイル.bin",
         "a very long attachment name that goes on and on and on for a while.dat",
         "photo 2024-03-01.jpg", "naïve.png"]


def ew_q(text, cs="utf-8"):
    out = []
    for b in text.encode(cs):
        c = chr(b)
        if c == " ":
            out.append("_")
        elif c.isalnum() and b < 128:
            out.append(c)
        else:
            out.append("=%02X" % b)
    return "=?%s?Q?%s?=" % (cs, "".join(out))


def ew_b(text, cs="utf-8"):
    return "=?%s?B?%s?=" % (cs, base64.b64encode(text.encode(cs)).decode())


def chunks(text, n):
    """Whole characters per encoded word (RFC 2047 §5)."""
    return [text[i:i + n] for i in range(0, len(text), n)] or [""]


def encode_text(r, text):
    """A header value for text: plain, one word, or several (folded)."""
    ascii_ok = all(ord(c) < 128 for c in text)
    latin1_ok = all(ord(c) < 256 for c in text)
    koi_ok = True
    try:
        text.encode("koi8-r")
    except UnicodeEncodeError:
        koi_ok = False
    choice = r.randrange(7)
    if ascii_ok and choice < 2:
        return text
    if choice == 2 and latin1_ok:
        return ew_q(text, "iso-8859-1") if r.random() < 0.5 else ew_b(text, "ISO-8859-1")
    if choice == 3 and koi_ok and not latin1_ok:
        return ew_b(text, "koi8-r")
    if choice == 4:      # several words, folded onto lines
        enc = ew_q if r.random() < 0.5 else ew_b
        words = [enc(c) for c in chunks(text, r.randrange(1, 8))]
        sep = r.choice(["\r\n ", " ", "\r\n\t", "  "])
        return sep.join(words)
    if choice == 5:      # text around a word
        head, _, tail = text.partition(" ")
        return "Fwd: " + ew_q(head) + (" " + tail if tail else "")
    return ew_b(text) if r.random() < 0.5 else ew_q(text)


def from_header(r):
    name = r.choice(NAMES)
    addr = "user%d@example.%s" % (r.randrange(100), r.choice(["org", "net"]))
    k = r.randrange(4)
    if k == 0:
        return addr
    if k == 1 and all(ord(c) < 128 for c in name):
        return '"%s" <%s>' % (name, addr)
    if k == 2 and all(ord(c) < 256 for c in name):
        return "%s <%s>" % (ew_q(name, "iso-8859-1"), addr)
    return "%s <%s>" % (encode_text_name(r, name), addr)


def encode_text_name(r, name):
    if r.random() < 0.5:
        return ew_b(name)
    return " ".join(ew_q(w) for w in name.split(" "))


def pct(data):
    return "".join(c if (c.isalnum() and ord(c) < 128) or c in "-._" else
                   "".join("%%%02X" % b for b in c.encode("utf-8")) for c in data)


def pct_bytes(b):
    return "".join(chr(x) if (chr(x).isalnum() and x < 128) or chr(x) in "-._" else "%%%02X" % x
                   for x in b)


def file_params(r, fname):
    """(Content-Type params, Content-Disposition params) naming the file."""
    k = r.randrange(6)
    if k == 0 and all(ord(c) < 128 for c in fname):
        return '; name="%s"' % fname, '; filename="%s"' % fname
    if k == 1:
        return "", "; filename*=utf-8''%s" % pct(fname)
    if k == 2:      # RFC 2231 continuations, sections of a few bytes
        toks = re.findall(r"%[0-9A-F]{2}|.", pct(fname))     # never cut a %XX
        parts, i = [], 0
        while i < len(toks):
            j = min(len(toks), i + r.randrange(3, 12))
            parts.append("".join(toks[i:j]))
            i = j
        ps = "".join(";\r\n filename*%d*=%s%s" % (n, "utf-8''" if n == 0 else "", p)
                     for n, p in enumerate(parts))
        return "", ps
    if k == 3 and all(ord(c) < 256 for c in fname):
        return "", "; filename*=iso-8859-1'fr'%s" % pct_bytes(fname.encode("latin-1"))
    if k == 4:      # RFC 2047 inside the quotes, as many mailers do
        return '; name="%s"' % ew_b(fname), '; filename="%s"' % ew_b(fname)
    return '; name="%s"' % ew_q(fname), ""     # only the type's name


def qp(data):
    return quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64(data):
    e = base64.b64encode(data)
    return b"\r\n".join(e[i:i + 76] for i in range(0, len(e), 76))


def text_part(r, html=False):
    body = ("\n".join(r.choice(TEXTS) + (" " * r.randrange(3)) for _ in range(r.randrange(1, 12)))
            + "\n").replace("\n", "\r\n").encode("utf-8")
    if html:
        body = b"<p>" + body + b"</p>\r\n"
    cte = r.choice(["quoted-printable", "base64", "8bit"])
    payload = qp(body) if cte == "quoted-printable" else b64(body) if cte == "base64" else body
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    h = "Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n" % (
        "html" if html else "plain", cte)
    return h.encode() + b"\r\n" + payload


def attachment(r):
    fname = r.choice(FILES)
    size = r.choice([0, 1, 2, 3, 57, 100, 1000, 5000, 40000])
    data = bytes(r.randrange(256) for _ in range(size))
    tparams, dparams = file_params(r, fname)
    if r.random() < 0.2:
        ctype = "text/plain; charset=utf-8"
        data = (r.choice(TEXTS) + "\r\n").encode() * (1 + size // 40)
        cte = "quoted-printable"
        payload = qp(data)
    else:
        ctype = "application/octet-stream"
        cte = "base64"
        payload = b64(data)
    h = "Content-Type: %s%s\r\nContent-Transfer-Encoding: %s\r\n" % (ctype, tparams, cte)
    if dparams:
        h += "Content-Disposition: attachment%s\r\n" % dparams
    return h.encode() + b"\r\n" + payload + b"\r\n"


def multipart(r, sub, parts):
    bd = "=_b%08x" % r.randrange(1 << 32)
    out = ("Content-Type: multipart/%s; boundary=\"%s\"\r\n\r\nThis is MIME.\r\n" % (sub, bd)).encode()
    for p in parts:
        out += b"--" + bd.encode() + b"\r\n" + p
        if not p.endswith(b"\r\n"):
            out += b"\r\n"
    return out + b"--" + bd.encode() + b"--\r\n"


def body(r, depth=0):
    k = r.randrange(6 if depth == 0 else 4)
    if k == 0:
        return text_part(r)
    if k == 1:
        return multipart(r, "mixed", [text_part(r)] + [attachment(r) for _ in range(r.randrange(1, 4))])
    if k == 2:
        return multipart(r, "alternative", [text_part(r), text_part(r, html=True)])
    if k == 3:
        return multipart(r, "mixed", [multipart(r, "alternative", [text_part(r), text_part(r, True)]),
                                      attachment(r)])
    # an attached message, itself MIME
    inner = headers(r) + body(r, depth + 1)
    return multipart(r, "mixed", [text_part(r),
                                  b"Content-Type: message/rfc822\r\n\r\n" + inner])


def headers(r):
    subj = encode_text(r, r.choice(TEXTS))
    when = datetime.datetime(2024, 3, r.randrange(1, 29), r.randrange(24), r.randrange(60),
                             tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    return ("From: %s\r\nTo: list@example.org\r\nSubject: %s\r\n"
            "Date: %s\r\nMessage-ID: <%d@gen.example>\r\nMIME-Version: 1.0\r\n" % (
                from_header(r), subj, email.utils.format_datetime(when),
                r.randrange(1 << 40))).encode()


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    r = random.Random(18)
    os.makedirs(out, exist_ok=True)
    for i in range(1, count + 1):
        with open(os.path.join(out, "%04d.eml" % i), "wb") as f:
            f.write(headers(r) + body(r))


main()
