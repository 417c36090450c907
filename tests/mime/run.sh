#!/usr/bin/env bash
# The MIME decoding differential test (issue 18), run by tests/run.sh:
#   bash tests/mime/run.sh SERVER_ENV [COUNT]
# Generates COUNT (120) messages (gen.py), APPENDs them to a fresh mailbox
# of the private Dovecot whose env file is SERVER_ENV, decodes them with
# imap.h (it_mime.c, under ASan+UBSan) and judges every message against
# Python's email package (compare.py), imapcat's summary of the same
# mailbox too; imapcat fetch --part gives the bytes it_mime got. Last
# line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ENV=$1
COUNT=${2:-120}
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/python3:python3 /usr/bin/gcc:gcc
W=$(mktemp -d /tmp/imaph-mime.XXXXXX)
trap 'rm -rf "$W"' EXIT
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if ! python3 tests/mime/gen.py "$W/mail" "$COUNT" > "$W/err" 2>&1; then
    echo "FAIL tests/mime/gen.py"; cat "$W/err"; echo "0 passed, 1 failed"; exit 1
fi
# shellcheck disable=SC2086
if ! gcc -std=c99 $WARN $SAN -I"$ROOT" tests/mime/it_mime.c -o "$W/it_mime" 2> "$W/err" ||
   ! gcc -std=c99 $WARN $SAN -I"$ROOT" examples/imapcat.c -o "$W/imapcat" 2>> "$W/err"; then
    echo "FAIL tests/mime/it_mime.c and examples/imapcat.c build"; cat "$W/err"; echo "0 passed, 1 failed"; exit 1
fi
mkdir -p "$W/parts"
MB=mimecat-$$
. "$ENV"
export IMAP_TEST_HOST IMAP_TEST_PORT IMAP_TEST_USER IMAP_TEST_PASS IMAP_PASSWORD=$IMAP_TEST_PASS
if ! IT_MIME_KEEP=$MB "$W/it_mime" "$W/parts" "$W"/mail/*.eml > "$W/got.tsv" 2> "$W/it.err"; then
    echo "FAIL it_mime ran"; tail -n 20 "$W/it.err"; echo "0 passed, 1 failed"; exit 1
fi
sed 's/^/note: /' "$W/it.err"
url="imap://$IMAP_TEST_USER@$IMAP_TEST_HOST:$IMAP_TEST_PORT/$MB"
"$W/imapcat" "$url" summary "$COUNT" > "$W/summary.txt" 2> "$W/cat.err"
# imapcat fetch --part on every part of the first 8 messages
ok=0 bad=0
while IFS=$'\t' read -r kind msg sec _ srv _; do
    [ "$kind" = P ] && [ "$msg" -le 8 ] || continue
    if "$W/imapcat" "$url" fetch "$msg" --part "$sec" -o "$W/part.out" 2>> "$W/cat.err" &&
        cmp -s "$W/part.out" "$srv"; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "  fetch $msg --part $sec differs"; fi
done < "$W/got.tsv"
"$W/it_mime" --delete "$MB" 2>> "$W/cat.err"
python3 tests/mime/compare.py "$W/got.tsv" --imapcat "$W/summary.txt" "$W"/mail/*.eml > "$W/cmp.out"
head -n -1 "$W/cmp.out"
if [ "$bad" = 0 ] && [ "$ok" -gt 0 ]; then echo "ok   imapcat fetch --part gives the decoded bytes of $ok parts"
else echo "FAIL imapcat fetch --part: $bad of $((ok + bad)) parts differ"; head -n 5 "$W/cat.err"; fi
p=$(tail -n 1 "$W/cmp.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(tail -n 1 "$W/cmp.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
[ -n "$p" ] || { p=0; f=1; }
if [ "$bad" = 0 ] && [ "$ok" -gt 0 ]; then p=$((p + 1)); else f=$((f + 1)); fi
echo "$p passed, $f failed"
[ "$f" = 0 ]
