#!/usr/bin/python3
"""The seed methods, called in one fixed order through Python's imaplib
or imaplib2 against the private Dovecot; one line per call:
STEP <TAB> TYPE <TAB> DATA (tests/diff/seq.c makes the same lines through
imap.h; tests/diff/compare.py compares them).
Usage: seq.py imaplib|imaplib2 HOST PORT USER PASSWORD MAILBOX"""
import sys, time

modname, host, port, user, password, mbox = sys.argv[1:7]
port = int(port)
mod = __import__(modname)


def esc(b):
    out = []
    for ch in b:
        if ch in (0x5c, 0x27) or ch < 0x20 or ch > 0x7e:
            out.append("\\x%02x" % ch)
        else:
            out.append(chr(ch))
    return "'" + "".join(out) + "'"


def enc(x):
    if x is None:
        return "None"
    if isinstance(x, tuple):
        return "(" + ",".join(enc(i) for i in x) + ")"
    if isinstance(x, list):
        return "[" + ",".join(enc(i) for i in x) + "]"
    if isinstance(x, (bytes, bytearray)):
        return esc(bytes(x))
    if isinstance(x, str):
        return esc(x.encode())
    if isinstance(x, int):
        return "%d" % x
    return "?" + type(x).__name__


def emit(step, typ, data):
    if isinstance(typ, bytes):
        typ = typ.decode()
    print("%s\t%s\t%s" % (step, typ, enc(data)), flush=True)


M = None


def call(step, fn, *args):
    try:
        typ, data = fn(*args)
    except M.readonly:
        typ, data = "readonly", []
    except M.abort:
        typ, data = "abort", []
    except M.error:
        typ, data = "error", []
    emit(step, typ, data)


MSG1 = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n"
        b"Subject: first\r\nMessage-ID: <d1@example.org>\r\n"
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nHello Bob.\r\n")
MSG2 = (b"From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
        b"Subject: Re: first\r\nMessage-ID: <d2@example.org>\r\n"
        b"In-Reply-To: <d1@example.org>\r\nDate: Tue, 8 Feb 1994 09:00:00 +0000\r\n\r\nHi.\r\n")
DATE = '"07-Feb-1994 21:52:25 -0800"'

M = mod.IMAP4(host, port)
emit("state-greeted", "value", M.state)
emit("capabilities-greeted", "value", tuple(sorted(M.capabilities)))
emit("PROTOCOL_VERSION", "value", M.PROTOCOL_VERSION)
call("login", M.login, user, password)
emit("state-login", "value", M.state)
call("capability", M.capability)
if modname == "imaplib2":
    # imaplib2 2.57's enable() keeps its state-change lock: the next
    # command would hang (tests/README.md)
    emit("enable", "skipped", [])
else:
    call("enable", M.enable, "CONDSTORE")   # RFC 5161 §3.1: authenticated state
for left in (mbox, mbox + "-renamed"):      # from a run that broke off
    try:
        M.delete(left)
    except M.error:
        pass
call("create", M.create, mbox)
call("select-empty", M.select, mbox)
emit("state-select", "value", M.state)
call("append-1", M.append, mbox, "(\\Seen)", DATE, MSG1)
call("append-2", M.append, mbox, None, DATE, MSG2)
call("noop", M.noop)
call("check", M.check)
call("search", M.search, None, "ALL")
call("search-subject", M.search, None, "SUBJECT", "first")
# imaplib2's own: ID, IDLE and the callback form (imaplib has none)
if modname == "imaplib2":
    import threading
    call("id", M.id, "name", "imaph-diff")
    call("idle", M.idle, 1)
    done = threading.Event()
    got = []
    def cb(cb_arg_list):
        response, cb_arg, error = cb_arg_list
        got.append(response if response else ("error", []))
        done.set()
    M.fetch("1", "(RFC822.SIZE FLAGS)", callback=cb, cb_arg="x")
    done.wait(30)
    emit("fetch-callback", *(got[0] if got else ("timeout", [])))
else:
    for step in ("id", "idle", "fetch-callback"):
        emit(step, "missing", [])
call("fetch-flags", M.fetch, "1:*", "(FLAGS INTERNALDATE)")
call("fetch-rfc822", M.fetch, "1", "(RFC822)")
call("fetch-header", M.fetch, "2", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
call("store", M.store, "1", "+FLAGS", "(\\Flagged)")
call("copy", M.copy, "1", mbox)
call("uid-search", M.uid, "SEARCH", "ALL")
call("uid-fetch", M.uid, "FETCH", "1:*", "(FLAGS)")
call("uid-store", M.uid, "STORE", "2", "+FLAGS", "(\\Seen)")
call("status", M.status, mbox, "(MESSAGES UIDNEXT)")
call("list", M.list, '""', mbox + "*")
call("subscribe", M.subscribe, mbox)
call("lsub", M.lsub, '""', mbox + "*")
call("unsubscribe", M.unsubscribe, mbox)
call("namespace", M.namespace)
call("getacl", M.getacl, mbox)
call("myrights", M.myrights, mbox)
call("setacl", M.setacl, mbox, "bob", "lr")
call("deleteacl", M.deleteacl, mbox, "bob")
call("getquotaroot", M.getquotaroot, mbox)
call("getquota", M.getquota, "\"User quota\"")
call("setquota", M.setquota, "\"User quota\"", "(STORAGE 1000)")
call("getannotation", M.getannotation, mbox, '"/comment"', '"value.priv"')
call("setannotation", M.setannotation, mbox, '"/comment"', '("value.priv" "diff")')
call("sort", M.sort, "(DATE)", "UTF-8", "ALL")
call("thread", M.thread, "REFERENCES", "UTF-8", "ALL")
call("recent", M.recent)
call("response-flags", M.response, "FLAGS")
call("response-none", M.response, "NOSUCHCODE")
call("store-deleted", M.store, "1", "+FLAGS", "(\\Deleted)")
call("expunge", M.expunge)
call("xatom", M.xatom, "XNOSUCHCOMMAND")
call("partial", M.partial, "1", "RFC822", "0", "10")
call("proxyauth", M.proxyauth, "bob")
call("select-missing", M.select, mbox + "-missing")
emit("state-select-missing", "value", M.state)
call("examine", M.select, mbox, True)
call("close", M.close)
emit("state-close", "value", M.state)
call("select-again", M.select, mbox)
if hasattr(M, "unselect") and modname != "imaplib2":
    call("unselect", M.unselect)
else:
    emit("unselect", "missing", [])     # imaplib2 has no unselect()
    M.close()
call("rename", M.rename, mbox, mbox + "-renamed")
call("delete", M.delete, mbox + "-renamed")
call("logout", M.logout)
emit("state-logout", "value", M.state)

# AUTHENTICATE with imaplib's authobject, on a second connection
M = mod.IMAP4(host, port)
call("authenticate-plain", M.authenticate, "PLAIN",
     lambda challenge: ("\0%s\0%s" % (user, password)).encode())
call("logout-2", M.logout)

# login_cram_md5, on a third connection (Dovecot offers CRAM-MD5 here)
M = mod.IMAP4(host, port)
call("login-cram-md5", M.login_cram_md5, user, password)
call("logout-3", M.logout)

# the module's helpers (imaplib2 names one Internaldate2Time and has no Int2AP)
if hasattr(mod, "Int2AP"):
    emit("Int2AP", "value", mod.Int2AP(4096 + 12345))
emit("ParseFlags", "value", mod.ParseFlags(b"1 (FLAGS (\\Seen \\Answered) UID 4)"))
emit("Time2Internaldate", "value", mod.Time2Internaldate(time.localtime(760686745)))   # TZ=UTC
try:                                    # a day February lacks
    emit("Time2Internaldate-30feb", "value", mod.Time2Internaldate((2020, 2, 30, 12, 0, 0, 0, 0, 0)))
except Exception as e:
    emit("Time2Internaldate-30feb", "raises", type(e).__name__)
i2t = getattr(mod, "Internaldate2tuple", None) or getattr(mod, "Internaldate2Time")
emit("Internaldate2tuple", "value",
     tuple(time.gmtime(time.mktime(i2t(b'INTERNALDATE "07-Feb-1994 21:52:25 -0800"')))[:6]))
