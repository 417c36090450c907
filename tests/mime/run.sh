#!/usr/bin/env bash
# The MIME decoding differential test (issue 18), run by tests/run.sh:
#   bash tests/mime/run.sh SERVER_ENV [COUNT]
# Generates COUNT (120) messages (gen.py), APPENDs them to a fresh mailbox
# of the private Dovecot whose env file is SERVER_ENV, decodes them with
# imap.h (it_mime.c, under ASan+UBSan) and judges every message against
# Python's email package (compare.py). Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ENV=$1
COUNT=${2:-120}
W=$(mktemp -d /tmp/imaph-mime.XXXXXX)
trap 'rm -rf "$W"' EXIT
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if ! python3 tests/mime/gen.py "$W/mail" "$COUNT" > "$W/err" 2>&1; then
    echo "FAIL tests/mime/gen.py"; cat "$W/err"; echo "0 passed, 1 failed"; exit 1
fi
# shellcheck disable=SC2086
if ! gcc -std=c99 $WARN $SAN -I"$ROOT" tests/mime/it_mime.c -o "$W/it_mime" 2> "$W/err"; then
    echo "FAIL tests/mime/it_mime.c builds"; cat "$W/err"; echo "0 passed, 1 failed"; exit 1
fi
mkdir -p "$W/parts"
if ! ( set -a; . "$ENV"; set +a; exec "$W/it_mime" "$W/parts" "$W"/mail/*.eml ) > "$W/got.tsv" 2> "$W/it.err"; then
    echo "FAIL it_mime ran"; tail -n 20 "$W/it.err"; echo "0 passed, 1 failed"; exit 1
fi
sed 's/^/note: /' "$W/it.err"
python3 tests/mime/compare.py "$W/got.tsv" "$W"/mail/*.eml
