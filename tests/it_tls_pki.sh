#!/usr/bin/env bash
# The private-PKI TLS test: generate the PKI (tests/tls_pki.sh), serve each
# certificate with OpenSSL on 127.0.0.1 (tests/tls_pki_server.c), run
# tests/it_tls_pki.c against them. Its last line is "N passed, N failed".
#   bash tests/it_tls_pki.sh BUILDDIR      (CFLAGS: extra flags, e.g. sanitizers)
set -u
cd "$(dirname "$0")/.."
b=$1/pki
rm -rf "$b"
mkdir -p "$b"
bash tests/tls_pki.sh "$b/certs" || { echo "tls_pki.sh failed"; echo "0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC2086
cc -std=c99 -O1 tests/tls_pki_server.c -o "$b/server" -lssl -lcrypto &&
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror ${CFLAGS:-} -DIMAP_WITH_BEARSSL -I. \
        tests/it_tls_pki.c -o "$b/it_tls_pki" -lbearssl ||
    { echo "it_tls_pki builds: failed"; echo "0 passed, 1 failed"; exit 1; }
"$b/server" "$b/certs" "$b/ports" good_rsa good_ec noeku ipsan sha1 md5 rsa1024 clientauth \
    expired notyet self noint unknown leafsigned plain &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$b/ports" ] && break; sleep 0.1; done
"$b/it_tls_pki" "$b/certs" "$b/ports"
