#!/usr/bin/env bash
# Issue 13 against the private Dovecot: tests/facade.sh SRVDIR (started by
# tests/server/dovecot.sh). User 2's INBOX gets 3,000 messages; then
# tests/diff/facade_dovecot.c, every C block of README.md compiled and
# run, examples/fetch_all.c against a hostile server, and the imaplib
# differential test (tests/diff/imaplib_diff.sh). Last line: N passed, N failed.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
SRV=$1
. "$SRV/env"
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/python3:python3 /usr/lib/python3/dist-packages/imaplib2.py:python3-imaplib2 > /dev/null
B=$(mktemp -d /tmp/imaph-facade.XXXXXX)
trap 'rm -rf "$B"' EXIT
P=0 F=0
ok() { P=$((P + 1)); echo "ok   $*"; }
no() { F=$((F + 1)); echo "FAIL $*"; }
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# ---- 3,000 messages in user 2's INBOX (Maildir files, Dovecot indexes them)
md=$IMAP_TEST_DIR/home/$IMAP_TEST_USER2/Maildir
/usr/bin/python3 - "$md" <<'PY'
import os, sys
md = sys.argv[1]
new = os.path.join(md, "new")
if any(n.endswith(".imaph") for d in ("new", "cur") for n in os.listdir(os.path.join(md, d))):
    sys.exit(0)                         # filled already
pad = "".join("line %04d of the body, to make the message about 2.8 KB long\r\n" % i for i in range(42))
for i in range(1, 3001):
    with open(os.path.join(new, "%d.M%dP1.imaph" % (1700000000 + i, i)), "w", newline="") as f:
        f.write("From: Sender %d <s%d@example.org>\r\nTo: bob@example.org\r\n"
                "Subject: message %d of 3000\r\nMessage-ID: <m%d@example.org>\r\n"
                "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n%s" % (i, i, i, i, pad))
PY
chown -R 65534:65534 "$md"

# ---- the facade against Dovecot
if gcc -std=c99 $WARN $SAN -I"$ROOT" tests/diff/facade_dovecot.c -o "$B/fd" 2> "$B/err"; then
    out=$("$B/fd" 2>&1); printf '%s\n' "$out" | grep -v -e '^ok ' -e ' passed, .* failed$'
    P=$((P + $(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, .*/\1/p')))
    F=$((F + $(printf '%s\n' "$out" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p')))
else
    no "tests/diff/facade_dovecot.c builds"; cat "$B/err"
fi

# ---- README.md: every C block compiles and runs
awk -v dir="$B" '/^```c$/ { n++; f = dir "/readme" n ".c"; on = 1; next }
    /^```$/ { on = 0; next } on { print > f }' README.md
for src in "$B"/readme*.c; do
    [ -e "$src" ] || { no "README.md has C blocks"; break; }
    name=$(basename "$src" .c)
    if ! gcc -std=c99 $WARN $SAN -I"$ROOT" "$src" -o "$B/$name" 2> "$B/err"; then
        no "README $name compiles"; cat "$B/err"; continue
    fi
    ok "README $name compiles: gcc -std=c99 $WARN"
    out=$(IMAP_HOST=$IMAP_TEST_HOST IMAP_PORT=$IMAP_TEST_PORT IMAP_USER=$IMAP_TEST_USER2 \
        IMAP_PASSWORD=$IMAP_TEST_PASS2 "$B/$name" 2>&1); rc=$?
    if [ $rc = 0 ] && printf '%s\n' "$out" | grep -qx '3000 messages' &&
        printf '%s\n' "$out" | grep -q '^numbers: 1 2 3 4 5'; then
        ok "README $name runs on a 3,000-message INBOX"
    else
        no "README $name runs on a 3,000-message INBOX (exit $rc)"; printf '%s\n' "$out" | head
    fi
    out=$(IMAP_HOST=$IMAP_TEST_HOST IMAP_PORT=$IMAP_TEST_PORT IMAP_USER=$IMAP_TEST_USER2 \
        IMAP_PASSWORD=wrong "$B/$name" 2>&1); rc=$?
    if [ $rc = 1 ] && printf '%s\n' "$out" | grep -q '^login: server answered NO: .*AUTHENTICATIONFAILED'; then
        ok "README $name: a wrong password prints the server's NO ($out)"
    else
        no "README $name: a wrong password (exit $rc)"; printf '%s\n' "$out" | head
    fi
    out=$(IMAP_HOST=127.0.0.1 IMAP_PORT=1 "$B/$name" 2>&1); rc=$?
    if [ $rc = 1 ] && printf '%s\n' "$out" | grep -q '^connect: ' && ! printf '%s\n' "$out" | grep -q success; then
        ok "README $name: a refused connection says so ($out)"
    else
        no "README $name: a refused connection (exit $rc)"; printf '%s\n' "$out" | head
    fi
done

# ---- examples/fetch_all.c against a hostile server: counts it must not trust
if gcc -std=c99 $WARN $SAN -I"$ROOT" examples/fetch_all.c -o "$B/fetch_all" 2> "$B/err"; then
    for ex in 18446744073709551615 4294967295; do
        rm -f "$B/port"
        /usr/bin/python3 tests/hostile_imap.py "$B/port" "$ex" 2> "$B/srv.err" &
        sp=$!
        for _ in $(seq 100); do [ -s "$B/port" ] && break; sleep 0.1; done
        ASAN_OPTIONS=max_allocation_size_mb=64 IMAP_PASSWORD=x \
            "$B/fetch_all" 127.0.0.1 "$(cat "$B/port" 2>/dev/null)" u > "$B/fa.out" 2>&1; rc=$?
        wait $sp 2>/dev/null
        if [ $rc = 0 ] && grep -q '^Message 1:' "$B/fa.out" && ! grep -q Sanitizer "$B/fa.out"; then
            ok "examples/fetch_all.c: '* $ex EXISTS' and SEARCH numbers past it, under ASan"
        else
            no "examples/fetch_all.c: hostile '* $ex EXISTS' (exit $rc)"; tail -n 8 "$B/fa.out"
        fi
    done
else
    no "examples/fetch_all.c builds with sanitizers"; cat "$B/err"
fi

# ---- the imaplib differential test
out=$(bash tests/diff/imaplib_diff.sh "$SRV" 2>&1); printf '%s\n' "$out" | grep -v '^ok ' | sed '/^[0-9]* passed, [0-9]* failed$/d'
p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' | tail -n 1)
f=$(printf '%s\n' "$out" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' | tail -n 1)
if [ -n "$p" ]; then P=$((P + p)); F=$((F + f)); else no "tests/diff/imaplib_diff.sh: no summary"; fi

echo "$P passed, $F failed"
[ "$F" = 0 ]
