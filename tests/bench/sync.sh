#!/usr/bin/env bash
# Sync benchmark (issue 19): mbsync (Debian isync) and `imapcat sync` pull
# the same account from a private Dovecot over TCP on 127.0.0.1 into their
# own Maildirs: a first sync, an incremental one with nothing changed, and
# one after about 1% of the messages changed (new, flags, expunged; the
# same changes for both tools). Prints both tools' wall times; asserts
# nothing (tests/sync/run.sh checks the results). One command (root,
# Debian 12; ~1 minute):
#
#     bash tests/bench/sync.sh
#
# Environment: NMSG (messages in all, default 300, as the issue's account, over 5 folders plus
# Dovecot's Sent/Drafts/Trash), RUNS (default 3: the median is shown).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NMSG=${NMSG:-300}
RUNS=${RUNS:-3}
say() { printf '%s\n' "$*" >&2; }
[ -x /usr/bin/mbsync ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq isync > /dev/null
[ -x /usr/bin/python3 ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq python3 > /dev/null

W=$(mktemp -d /tmp/imaph-bsync.XXXXXX)
chmod 755 "$W"
SRV=$W/srv
cleanup() { bash tests/server/dovecot.sh stop "$SRV" > /dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
bash tests/server/dovecot.sh start "$SRV" > /dev/null
. "$SRV/env"
export IMAP_TEST_USER=$IMAP_TEST_USER2 IMAP_TEST_PASS=$IMAP_TEST_PASS2 IMAP_PASSWORD=$IMAP_TEST_PASS2
gcc -std=c99 -O2 -I"$ROOT" examples/imapcat.c -o "$W/imapcat"
say "populating $NMSG messages ..."
python3 tests/sync/mailbox.py populate "$NMSG" > /dev/null
URL="imap://$IMAP_TEST_USER@$IMAP_TEST_HOST:$IMAP_TEST_PORT"

mbsync_rc() {
    cat > "$W/mbsyncrc" <<EOF
IMAPAccount bench
Host $IMAP_TEST_HOST
Port $IMAP_TEST_PORT
User $IMAP_TEST_USER
Pass $IMAP_TEST_PASS
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Inbox $1/
SubFolders Maildir++

Channel bench
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
Expunge Near
SyncState *
EOF
}

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A T
for run in $(seq "$RUNS"); do
    rm -rf "$W/mb" "$W/ic"
    mkdir -p "$W/mb"
    mbsync_rc "$W/mb"
    t0=$(now); mbsync -q -c "$W/mbsyncrc" -a > "$W/mb.log" 2>&1 || { cat "$W/mb.log" >&2; exit 1; }; t1=$(now)
    T[mb_first]+="$(ms "$t0" "$t1") "
    t0=$(now); "$W/imapcat" "$URL" sync "$W/ic" 2> "$W/ic.log"; t1=$(now)
    T[ic_first]+="$(ms "$t0" "$t1") "
    t0=$(now); mbsync -q -c "$W/mbsyncrc" -a > "$W/mb.log" 2>&1 || { cat "$W/mb.log" >&2; exit 1; }; t1=$(now)
    T[mb_none]+="$(ms "$t0" "$t1") "
    t0=$(now); "$W/imapcat" "$URL" sync "$W/ic" 2> "$W/ic.log"; t1=$(now)
    T[ic_none]+="$(ms "$t0" "$t1") "
    python3 tests/sync/mailbox.py change 1 > "$W/chg.out"
    t0=$(now); mbsync -q -c "$W/mbsyncrc" -a > "$W/mb.log" 2>&1 || { cat "$W/mb.log" >&2; exit 1; }; t1=$(now)
    T[mb_incr]+="$(ms "$t0" "$t1") "
    t0=$(now); "$W/imapcat" "$URL" sync "$W/ic" 2> "$W/ic.log"; t1=$(now)
    T[ic_incr]+="$(ms "$t0" "$t1") "
done
files_mb=$(find "$W/mb" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)
files_ic=$(find "$W/ic" -type f -name '*.imapcat,U=*' | wc -l)
python3 tests/sync/mailbox.py verify "$W/ic" | tail -n 1 >&2

echo "sync benchmark: $NMSG messages in 5 folders (+ Sent, Drafts, Trash), Dovecot over TCP on 127.0.0.1,"
echo "median of $RUNS runs, wall ms; mbsync $(mbsync -v 2>/dev/null | head -n 1 | awk '{print $2}' || true)"
echo "  $(sed 's/^changed: //' "$W/chg.out") per incremental run"
printf '  %-32s %10s %10s\n' "" "mbsync" "imapcat"
printf '  %-32s %10s %10s\n' "first sync" "$(tr ' ' '\n' <<< "${T[mb_first]}" | grep . | median)" "$(tr ' ' '\n' <<< "${T[ic_first]}" | grep . | median)"
printf '  %-32s %10s %10s\n' "incremental, nothing changed" "$(tr ' ' '\n' <<< "${T[mb_none]}" | grep . | median)" "$(tr ' ' '\n' <<< "${T[ic_none]}" | grep . | median)"
printf '  %-32s %10s %10s\n' "incremental, ~1% changed" "$(tr ' ' '\n' <<< "${T[mb_incr]}" | grep . | median)" "$(tr ' ' '\n' <<< "${T[ic_incr]}" | grep . | median)"
printf '  %-32s %10s %10s\n' "message files" "$files_mb" "$files_ic"
