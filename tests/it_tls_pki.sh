#!/usr/bin/env bash
# The private-PKI TLS test: generate the PKI (tests/tls_pki.sh), serve each
# certificate with OpenSSL on 127.0.0.1 (tests/tls_pki_server.c), run
# tests/it_tls_pki.c against them; then the STARTTLS injection server
# against examples/tls_openssl.c and tls_mbedtls.c (the two-step call).
# The last line is "N passed, N failed".
#   bash tests/it_tls_pki.sh BUILDDIR      (CFLAGS: extra flags, e.g. sanitizers)
set -u
cd "$(dirname "$0")/.."
b=$1/pki
rm -rf "$b"
mkdir -p "$b"
P=0 F=0
ck() { if [ "$1" = 0 ]; then P=$((P + 1)); echo "ok   $2"; else F=$((F + 1)); echo "FAIL $2"; shift 2; printf '  %s\n' "$@"; fi; }
# the PKI is made once per version of tls_pki.sh (RSA keys take seconds)
cache=/var/cache/imaph/pki-$(sha256sum tests/tls_pki.sh | cut -c1-16)
if [ -s "$cache/root.pem" ]; then
    cp -r "$cache" "$b/certs"
else
    bash tests/tls_pki.sh "$b/certs" || { echo "tls_pki.sh failed"; echo "0 passed, 1 failed"; exit 1; }
    { mkdir -p "$cache.tmp.$$" && cp "$b"/certs/* "$cache.tmp.$$"/ && mv "$cache.tmp.$$" "$cache"; } 2>/dev/null ||
        rm -rf "$cache.tmp.$$"
fi
# shellcheck disable=SC2086
cc -std=c99 -O1 tests/tls_pki_server.c -o "$b/server" -lssl -lcrypto &&
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror ${CFLAGS:-} -DIMAP_WITH_BEARSSL -I. \
        tests/it_tls_pki.c -o "$b/it_tls_pki" -lbearssl &&
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror ${CFLAGS:-} -I. examples/tls_openssl.c \
        -o "$b/tls_openssl" -lssl -lcrypto &&
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror ${CFLAGS:-} -I. examples/tls_mbedtls.c \
        -o "$b/tls_mbedtls" -lmbedtls -lmbedx509 -lmbedcrypto &&
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror ${CFLAGS:-} -DIMAP_WITH_BEARSSL -I. \
        examples/imapcat.c -o "$b/imapcat" -lbearssl ||
    { echo "it_tls_pki builds: failed"; echo "0 passed, 1 failed"; exit 1; }
"$b/server" "$b/certs" "$b/ports" good_rsa good_ec noeku ipsan sha1 md5 rsa1024 ec224 clientauth \
    expired notyet self noint unknown leafsigned plain inject &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$b/ports" ] && break; sleep 0.1; done
out=$("$b/it_tls_pki" "$b/certs" "$b/ports" 2>&1)
printf '%s\n' "$out" | sed '$d'
p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
P=$((P + ${p:-0})) F=$((F + ${f:-1}))
# plaintext after the STARTTLS OK (an EXISTS, LOGINDISABLED, a BYE) is
# dropped: the session goes on over TLS and learns none of it
port=$(sed -n 's/^inject //p' "$b/ports")
for lib in openssl mbedtls; do
    o=$(IMAP_PASSWORD=x "$b/tls_$lib" --starttls --cafile "$b/certs/root.pem" localhost "$port" u 2>&1)
    rc=$?
    [ $rc = 0 ] && printf '%s\n' "$o" | grep -qx 'after STARTTLS: 0 EXISTS known, capabilities: IMAP4rev1 AUTH=PLAIN' &&
        printf '%s\n' "$o" | grep -qx '3 messages in INBOX' && ! printf '%s\n' "$o" | grep -q 777
    ck $? "examples/tls_$lib.c: STARTTLS drops plaintext injected after the OK" "exit $rc" "$o"
done
# imapcat says what went wrong and what to do
hint() { # server host expected-words...
    local port o rc
    port=$(sed -n "s/^$1 //p" "$b/ports")
    o=$(IMAP_PASSWORD=x "$b/imapcat" --cafile "$b/certs/root.pem" "imaps://u@$2:$port/" list 2>&1); rc=$?
    shift 2
    [ $rc = 2 ] && printf '%s\n' "$o" | grep -qF "$1" && printf '%s\n' "$o" | grep -qF "$2"
    ck $? "imapcat: $1 / $2" "exit $rc" "$o"
}
hint self localhost "self-signed" "hint: if you trust this server, give its CA certificate with --cafile"
hint good_rsa 127.0.0.1 "no iPAddress entry for 127.0.0.1" "hint: connect by the host name"
hint plain localhost "answered in plaintext" "hint: this port does not speak TLS"
echo "$P passed, $F failed"
