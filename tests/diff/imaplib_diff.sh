#!/usr/bin/env bash
# The differential test: the seed methods in one order through Python's
# imaplib and imaplib2 (Debian's /usr/bin/python3, python3-imaplib2) and
# through imap.h (tests/diff/seq.c), against the private Dovecot;
# (type, data) compared per call (tests/diff/compare.py; known
# differences in tests/README.md). Usage: imaplib_diff.sh SRVDIR
set -u
cd "$(dirname "$0")/../.."
. "$1/env"
B=$(mktemp -d /tmp/imaph-diff.XXXXXX)
trap 'rm -rf "$B"' EXIT
. tests/server/common.sh
imaph_ensure_pkgs /usr/lib/python3/dist-packages/imaplib2.py:python3-imaplib2 > /dev/null 2>&1
if ! gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1 -fsanitize=address,undefined \
    -fno-sanitize-recover=all -DIMAP_WITH_BEARSSL -I. tests/diff/seq.c -o "$B/seq" -lbearssl 2> "$B/err"; then
    cat "$B/err"; echo "0 passed, 1 failed"; exit 1
fi
export TZ=UTC
A=("$IMAP_TEST_HOST" "$IMAP_TEST_PORT" "$IMAP_TEST_USER" "$IMAP_TEST_PASS")
timeout 120 "$B/seq" "${A[@]}" imaphdiff-c > "$B/c.out" 2>&1
P=0 F=0
for lib in imaplib imaplib2; do
    timeout 120 /usr/bin/python3 tests/diff/seq.py "$lib" "${A[@]}" "imaphdiff-$lib" > "$B/$lib.out" 2> "$B/$lib.err"
    out=$(/usr/bin/python3 tests/diff/compare.py "$lib" "$B/$lib.out" "imaphdiff-$lib" "$B/c.out" imaphdiff-c)
    printf '%s\n' "$out" | sed '$d'
    P=$((P + $(printf '%s\n' "$out" | sed -n '$s/^\([0-9]*\) passed.*/\1/p')))
    F=$((F + $(printf '%s\n' "$out" | sed -n '$s/.* \([0-9]*\) failed$/\1/p')))
done
echo "$P passed, $F failed"
