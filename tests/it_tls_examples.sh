#!/usr/bin/env bash
# examples/tls_openssl.c and tls_mbedtls.c (imap.h over another TLS
# library) against a real server: implicit TLS and STARTTLS (the two-step
# call), and a refusal without the server's CA.
#   bash tests/it_tls_examples.sh BUILDDIR SERVER_ENV    (after tests/it_tls_pki.sh built them)
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
b=$1/pki
# shellcheck disable=SC1090
. "$2"
P=0 F=0
ck() { if [ "$1" = 0 ]; then P=$((P + 1)); echo "ok   $2"; else F=$((F + 1)); echo "FAIL $2"; shift 2; printf '  %s\n' "$@"; fi; }
srv=${IMAP_TEST_SERVER:-dovecot}
export IMAP_PASSWORD=$IMAP_TEST_PASS
for lib in openssl mbedtls; do
    x=$b/tls_$lib
    [ -x "$x" ] || { ck 1 "examples/tls_$lib.c was built"; continue; }
    o=$("$x" --cafile "$IMAP_TEST_CA" localhost "$IMAP_TEST_SSL_PORT" "$IMAP_TEST_USER" 2>&1); rc=$?
    [ $rc = 0 ] && printf '%s\n' "$o" | grep -q ' messages in INBOX$'
    ck $? "examples/tls_$lib.c: implicit TLS to $srv" "exit $rc" "$o"
    o=$("$x" --starttls --cafile "$IMAP_TEST_CA" localhost "$IMAP_TEST_PORT" "$IMAP_TEST_USER" 2>&1); rc=$?
    [ $rc = 0 ] && printf '%s\n' "$o" | grep -q '^after STARTTLS: ' &&
        printf '%s\n' "$o" | grep -q ' messages in INBOX$'
    ck $? "examples/tls_$lib.c: STARTTLS to $srv" "exit $rc" "$o"
    o=$("$x" --cafile "$b/certs/root.pem" localhost "$IMAP_TEST_SSL_PORT" "$IMAP_TEST_USER" 2>&1); rc=$?
    [ $rc = 2 ] && printf '%s\n' "$o" | grep -q 'handshake failed'
    ck $? "examples/tls_$lib.c: $srv's certificate refused without its CA" "exit $rc" "$o"
done
echo "$P passed, $F failed"
