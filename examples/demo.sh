#!/usr/bin/env bash
# The README's demo:   bash examples/demo.sh
#
# Builds examples/imapcat.c with one cc line, makes a small demo mailbox
# (tests/server/demo-maildir.sh: a Maildir served by Dovecot's imap binary
# over a pipe; no daemon, no ports, no password) and shows imapcat at work:
# the mailboxes, their counts, a search, a message's header and a whole
# message, and what goes over the wire. On a fresh Debian machine it
# installs gcc and dovecot-imapd first (needs root, as the demo server does).
#
# IMAPH_DEMO_DIR   where the Maildir and the imapcat binary go
#                  (default /tmp/imaph-demo; kept, so you can try more)
set -eu
cd "$(dirname "$0")/.."
. tests/server/common.sh

[ "$(id -u)" = 0 ] || imaph_die "run as root: the demo server drops to uid 65534"
imaph_ensure_pkgs /usr/bin/cc:gcc /usr/lib/dovecot/imap:dovecot-imapd

DIR=${IMAPH_DEMO_DIR:-/tmp/imaph-demo}
mkdir -p "$DIR"
chmod 755 "$DIR"                        # the server (uid 65534) must get in
IMAPCAT=$DIR/imapcat

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '\n%s\n' "$*"; }
run() {                                 # show the command, then run it
    local shown=$*
    shown=${shown//"$SERVER"/\"\$SERVER\"}
    shown=${shown//"$IMAPCAT"/imapcat}
    printf '$ %s\n' "$shown"
    "$@"
}

say "1. Build the client: one cc line, no build system, no libraries"
printf '$ cc -O2 -I. examples/imapcat.c -o imapcat\n'
cc -O2 -I. examples/imapcat.c -o "$IMAPCAT"

say "2. A mailbox to talk to: Dovecot's imap binary over a pipe (IMAP4_stream)"
SERVER=$(bash tests/server/demo-maildir.sh "$DIR")
printf 'SERVER=%s\n' "$SERVER"
echo "(imapcat runs it with sh -c and speaks IMAP on its stdin/stdout;"
echo " it greets PREAUTH, so no password is asked for)"

say "3. Which mailboxes are there?"
run "$IMAPCAT" --stream "$SERVER" list

say "4. How many messages in INBOX, how many unread?"
run "$IMAPCAT" --stream "$SERVER" stat

say "5. Which messages talk about lunch? (UID SEARCH; prints UIDs)"
run "$IMAPCAT" --stream "$SERVER" search SUBJECT lunch

say "6. The header of the last of them"
uid=$("$IMAPCAT" --stream "$SERVER" search SUBJECT lunch | tail -n 1)
run "$IMAPCAT" --stream "$SERVER" --headers fetch "$uid"

say "7. A whole message from another mailbox (RFC 5092 URL: imap:///Work)"
run "$IMAPCAT" --stream "$SERVER" imap:///Work fetch 2

say "8. What went over the wire for step 4 (-v; C: client, S: server)"
run "$IMAPCAT" -v --stream "$SERVER" stat 2>&1

say "Done. Try more:"
cat <<EOF
  SERVER=\$(bash tests/server/demo-maildir.sh $DIR)
  $IMAPCAT --stream "\$SERVER" search UNSEEN
  $IMAPCAT --stream "\$SERVER" imap:///Archive stat
  $IMAPCAT --help
EOF
