#!/usr/bin/env bash
# imapcat sync against a private Dovecot: tests/sync/run.sh SRV_DIR IMAPCAT [IDLE]
#
# On the account IMAP_TEST_USER2 (bob; alice is the other tests'): a first
# sync of several folders and a few hundred messages, then about 1% changed
# on the server (new, flags, expunged) and an incremental sync, by each
# path (QRESYNC, CONDSTORE, plain); after each, tests/sync/mailbox.py
# (Python's imaplib, not imap.h) checks that the Maildir holds the server's
# messages byte for byte with the same flags. Then interrupted syncs: the
# server's imap process killed (kill -9) after several byte offsets of its
# output (tests/sync/cut.py), and Ctrl-C (SIGINT) mid-pull; each
# resumed by a plain `imapcat sync` must end in the same Maildir. Against
# Mailutils or Cyrus (IMAP_TEST_SERVER set): the first and one incremental
# sync only, by the best path that server offers. With IDLE
# (examples/idle.c built): the notifier's connection killed between two new
# messages; it reconnects and reports both. Prints
# ok/FAIL lines and "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
SRV=$1
CAT=$2
IDLE=${3:-}
. "$SRV/env"
export IMAP_TEST_USER=$IMAP_TEST_USER2 IMAP_TEST_PASS=$IMAP_TEST_PASS2
export IMAP_PASSWORD=$IMAP_TEST_PASS
STREAM=$(printf '%s' "${IMAP_TEST_STREAM_CMD:-}" | sed "s/alice/$IMAP_TEST_USER/g")
URL="imap://$(printf '%s' "$IMAP_TEST_USER" | sed 's/@/%40/')@$IMAP_TEST_HOST:$IMAP_TEST_PORT"
OTHER=${IMAP_TEST_SERVER:-}             # mailutils, cyrus; empty: Dovecot
NMSG=300
[ -n "$OTHER" ] && NMSG=120
W=$(mktemp -d /tmp/imaph-sync.XXXXXX)
trap 'rm -rf "$W"' EXIT
P=0
F=0
ck() { if [ "$1" = 0 ]; then P=$((P + 1)); echo "ok   $2"; else F=$((F + 1)); echo "FAIL $2"; shift 2; [ $# = 0 ] || printf '  %s\n' "$@"; fi; }
verify() { python3 "$here/mailbox.py" verify "$1" > "$W/verify.out" 2>&1; }

python3 "$here/mailbox.py" populate $NMSG > "$W/pop.out" 2>&1
ck $? "sync${OTHER:+/$OTHER}: account set up ($NMSG messages in 5 folders)" "$(cat "$W/pop.out")"

t0=$(date +%s%N)
"$CAT" "$URL" sync "$W/md" > "$W/out" 2>&1; rc=$?
t1=$(date +%s%N)
verify "$W/md"; ck $(( rc || $? )) "imapcat sync${OTHER:+/$OTHER}: first pull equals the server ($(( (t1 - t0) / 1000000 )) ms; $(tail -n 1 "$W/verify.out"))" \
    "exit $rc" "$(cat "$W/out")" "$(cat "$W/verify.out")"
if [ -n "$OTHER" ]; then
    python3 "$here/mailbox.py" change 2 > "$W/chg.out" 2>&1
    IMAPCAT_SYNC_VERBOSE=1 "$CAT" "$URL" sync "$W/md" > "$W/out" 2>&1; rc=$?
    how=$(grep -o '(QRESYNC)\|(CONDSTORE)\|(plain)' "$W/out" | sort -u | tr -d '()' | tr '\n' ' ')
    verify "$W/md"; ck $(( rc || $? )) "imapcat sync/$OTHER: incremental ($how) after $(sed 's/^changed: //' "$W/chg.out") equals the server" \
        "exit $rc" "$(cat "$W/out")" "$(cat "$W/verify.out")"
    echo "$P passed, $F failed"
    [ "$F" = 0 ]
    exit
fi
n=$(find "$W/md" -name '*.imapcat,U=*' | wc -l)
[ -f "$W/md/.Work.Projects/maildirfolder" ] && [ -f "$W/md/imapcat-sync.state" ] && [ "$n" -ge 300 ]
ck $? "imapcat sync: Maildir++ folders, a state file, $n message files"

for m in qresync condstore plain; do
    python3 "$here/mailbox.py" change 1 > "$W/chg.out" 2>&1
    IMAPCAT_SYNC_VERBOSE=1 "$CAT" --sync-method "$m" "$URL" sync "$W/md" > "$W/out" 2>&1; rc=$?
    grep -q "($(printf '%s' "$m" | tr a-z A-Z | sed 's/PLAIN/plain/'))" "$W/out"; used=$?
    verify "$W/md"; ck $(( rc || used || $? )) "imapcat sync --sync-method $m: incremental after $(sed 's/^changed: //' "$W/chg.out") equals the server" \
        "exit $rc" "$(cat "$W/out")" "$(cat "$W/verify.out")"
done
# an incremental sync with nothing changed fetches no body
IMAPCAT_SYNC_VERBOSE=1 "$CAT" "$URL" sync "$W/md" > "$W/out" 2>&1; rc=$?
! grep -v ' 0 new, 0 flag changes, 0 removed' "$W/out" | grep -q .; ck $(( rc || $? )) "imapcat sync: nothing changed, nothing done" "$(cat "$W/out")"

# a connection cut at several offsets of a first pull, then resumed
total=$(du -sb "$W/md" | cut -f1)
for cut in 200 2000 $((total / 5)) $((total / 2)) $((total * 4 / 5)); do
    rm -rf "$W/cut"
    "$CAT" --stream "{ $STREAM <&3 & echo \$! > $W/pid; wait; } 3<&0 | python3 $here/cut.py $cut $W/pid" sync "$W/cut" > "$W/out" 2>&1; rc1=$?
    "$CAT" "$URL" sync "$W/cut" > "$W/out2" 2>&1; rc=$?
    verify "$W/cut"; ck $(( (rc1 != 2) || rc || $? )) "imapcat sync cut after $cut server bytes (exit $rc1), resumed: equals the server" \
        "exit $rc1 then $rc" "$(cat "$W/out")" "$(cat "$W/out2")" "$(cat "$W/verify.out")"
done
# and an incremental one cut short
cp -a "$W/md" "$W/cut2"
python3 "$here/mailbox.py" change 2 > "$W/chg.out" 2>&1
"$CAT" --stream "{ $STREAM <&3 & echo \$! > $W/pid; wait; } 3<&0 | python3 $here/cut.py 3000 $W/pid" sync "$W/cut2" > "$W/out" 2>&1; rc1=$?
"$CAT" "$URL" sync "$W/cut2" > "$W/out2" 2>&1; rc=$?
verify "$W/cut2"; ck $(( rc || $? )) "imapcat sync: an incremental pull cut short (exit $rc1), resumed: equals the server" \
    "$(cat "$W/out")" "$(cat "$W/out2")" "$(cat "$W/verify.out")"

# Ctrl-C: SIGINT while the bodies come in slowly, then resumed
rm -rf "$W/int"
"$CAT" --stream "$STREAM | python3 $here/slow.py" sync "$W/int" > "$W/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    [ "$(find "$W/int" -name '*.imapcat,U=*' 2> /dev/null | wc -l)" -ge 20 ] && break
    sleep 0.1
done
kill -INT "$pid" 2> /dev/null
wait "$pid"; rc1=$?
partial=$(find "$W/int" -name '*.imapcat,U=*' | wc -l)
"$CAT" "$URL" sync "$W/int" > "$W/out2" 2>&1; rc=$?
verify "$W/int"; ck $(( (rc1 != 8) || rc || $? )) "imapcat sync interrupted by SIGINT (exit $rc1, $partial files), resumed: equals the server" \
    "exit $rc1 then $rc" "$(cat "$W/out")" "$(cat "$W/out2")" "$(cat "$W/verify.out")"
[ -z "$(find "$W/int/tmp" "$W/md/tmp" -type f)" ]; ck $? "imapcat sync leaves nothing in tmp/"

# imapcat fetch of a UID set (mboxrd, -o DIR), a closed pipe, ~/.netrc,
# and the RFC 5092 URL parts ;AUTH= ;SECTION= ;PARTIAL= ?search
printf 'From: q@example.org\r\nSubject: quoting %s\r\n\r\nFrom the start\r\n>From quoted\r\nFro not\r\nend' "$$" > "$W/q.eml"
quid=$("$CAT" "$URL/Lists" append "$W/q.eml" 2> /dev/null)
"$CAT" "$URL/Lists" fetch "$quid,$quid" > "$W/q.mbox" 2>&1; rc=$?
printf 'From: q@example.org\nSubject: quoting %s\n\n>From the start\n>>From quoted\nFro not\nend\n\n' "$$" | cmp -s - <(sed 1d "$W/q.mbox")
ck $(( rc || $? )) "imapcat fetch SET: mboxrd on stdout (LF, >From quoted, a blank line after)" "exit $rc" "$(cat -A "$W/q.mbox")"
"$CAT" -o "$W/o" "$URL/Lists" fetch "1:*" > /dev/null 2>&1; rc=$?
n=$(ls "$W/o" | wc -l); cmp -s "$W/q.eml" "$W/o/$quid.eml"
ck $(( rc || $? )) "imapcat -o DIR fetch 1:*: one file each ($n), bytes as on the server" "exit $rc"
"$CAT" "$URL" fetch "1:*" | head -c 100 > /dev/null; rc=${PIPESTATUS[0]}
[ "$rc" = 7 ]; ck $? "imapcat fetch | head: exit 7 (reader gone), not 141" "exit $rc"
mkdir -p "$W/home"
printf 'machine elsewhere login %s password wrong\nmachine %s\n login %s\n password "%s"\n' \
    "$IMAP_TEST_USER" "$IMAP_TEST_HOST" "$IMAP_TEST_USER" "$(printf '%s' "$IMAP_TEST_PASS" | sed 's/["\\]/\\&/g')" > "$W/home/.netrc"
chmod 600 "$W/home/.netrc"
out=$(env -u IMAP_PASSWORD HOME="$W/home" "$CAT" "$URL" stat < /dev/null 2>&1); rc=$?
ck $rc "imapcat takes the password from ~/.netrc" "$out"
chmod 644 "$W/home/.netrc"
out=$(env -u IMAP_PASSWORD HOME="$W/home" "$CAT" "$URL" stat < /dev/null 2>&1); rc=$?
[ $rc = 3 ] && printf '%s' "$out" | grep -q 'read by others'; ck $? "imapcat ignores a ~/.netrc others may read" "exit $rc" "$out"
out=$("$CAT" -v "imap://$IMAP_TEST_USER;AUTH=PLAIN@$IMAP_TEST_HOST:$IMAP_TEST_PORT" stat 2>&1); rc=$?
printf '%s' "$out" | grep -q 'AUTHENTICATE'; ck $(( rc || $? )) "imapcat URL ;AUTH=PLAIN logs in by AUTHENTICATE" "exit $rc" "$out"
out=$("$CAT" "$URL/Lists/;UID=$quid/;SECTION=TEXT/;PARTIAL=5.9" fetch 2>&1); rc=$?
[ "$out" = "the start" ]; ck $(( rc || $? )) "imapcat URL /;SECTION=TEXT/;PARTIAL=5.9 fetches that range" "exit $rc, got '$out'"
out=$("$CAT" "$URL/Lists?SUBJECT%20%22quoting%20$$%22" search 2>&1); rc=$?
[ "$out" = "$quid" ]; ck $(( rc || $? )) "imapcat URL ?SUBJECT \"...\" searches" "exit $rc, got '$out'"
"$CAT" "$URL/Lists?SUBJECT%0D%0AX%20LOGOUT" search > /dev/null 2>&1; rc=$?
[ $rc = 1 ]; ck $? "imapcat URL ?search with a CRLF is refused (no injection)" "exit $rc"

# examples/idle.c survives its connection being killed
if [ -n "$IDLE" ]; then
    "$IDLE" -t 60 -n 2 "$IMAP_TEST_HOST" "$IMAP_TEST_PORT" "$IMAP_TEST_USER" > "$W/idle.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q '^Waiting' "$W/idle.out" && break; sleep 0.1; done
    printf 'From: One <one@example.org>\r\nSubject: before the drop\r\n\r\nx\r\n' > "$W/m1.eml"
    printf 'From: Two <two@example.org>\r\nSubject: while it was down\r\n\r\ny\r\n' > "$W/m2.eml"
    "$CAT" "$URL/INBOX" append "$W/m1.eml" > /dev/null 2>&1
    for _ in $(seq 100); do grep -q 'before the drop' "$W/idle.out" && break; sleep 0.1; done
    # kill the server's imap process of that connection (this test's only one)
    master=$(cat "$IMAP_TEST_DIR/run/master.pid")
    for p in $(pgrep -P "$master" -x imap); do kill -9 "$p"; done
    "$CAT" "$URL/INBOX" append "$W/m2.eml" > /dev/null 2>&1
    for _ in $(seq 150); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill "$pid" 2> /dev/null
    wait "$pid"; rc=$?
    grep -q '^New message [0-9]* from One <one@example.org>: before the drop$' "$W/idle.out" &&
        grep -q 'reconnect' "$W/idle.out" &&
        grep -q '^New message [0-9]* from Two <two@example.org>: while it was down$' "$W/idle.out"
    ck $(( rc || $? )) "examples/idle.c: its connection killed, it reconnects and reports the mail that came meanwhile" \
        "exit $rc" "$(cat "$W/idle.out")"
fi

echo "$P passed, $F failed"
[ "$F" = 0 ]
