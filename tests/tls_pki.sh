#!/usr/bin/env bash
# A private PKI for tests/it_tls_pki.c: one certificate for each way a
# server certificate can be wrong, and the good ones.
#   bash tests/tls_pki.sh DIR
# DIR/root.pem is the only trust anchor; DIR/NAME.chain (leaf first) and
# DIR/NAME.key are served by tests/tls_pki_server.c. Takes ~2 s.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
o=openssl
cat > x.cnf <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ srv ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[ srv_noeku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectAltName = DNS:localhost
[ srv_ip ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ cli ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost
[ leafca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[ ca_sect ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
CNF
: > index.txt
echo 01 > serial
rsa="-newkey rsa:2048"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
root() { # name subject
    $o req -x509 -config x.cnf -extensions ca $rsa -nodes -keyout "$1.key" -out "$1.pem" \
        -days 36500 -sha256 -subj "$2" 2>/dev/null
}
# sign NAME SUBJECT EXT KEYOPTS ISSUER [MD]
sign() {
    $o req -config x.cnf -new $4 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    $o x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" -set_serial "0x$($o rand -hex 8)" \
        -days 36500 "-${6:-sha256}" -extfile x.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}
# dated NAME START END: a server certificate from the intermediate
dated() {
    $o req -config x.cnf -new $rsa -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=localhost" 2>/dev/null
    $o ca -batch -config x.cnf -name ca_sect -cert int.pem -keyfile int.key -in "$1.csr" \
        -startdate "$2" -enddate "$3" -extfile x.cnf -extensions srv -out "$1.pem" \
        -notext 2>/dev/null
}
root root "/O=imap.h PKI test/CN=imap.h test root"
root other "/O=imap.h PKI test/CN=imap.h untrusted root"
sign int "/O=imap.h PKI test/CN=imap.h test intermediate" ca "$rsa" root
sign oint "/O=imap.h PKI test/CN=imap.h untrusted intermediate" ca "$rsa" other
sign good_rsa "/CN=localhost" srv "$rsa" int
sign good_ec "/CN=localhost" srv "$ec" int
sign noeku "/CN=localhost" srv_noeku "$ec" int
sign ipsan "/CN=localhost" srv_ip "$ec" int
sign sha1 "/CN=localhost" srv "$rsa" int sha1
sign md5 "/CN=localhost" srv "$rsa" int md5
sign rsa1024 "/CN=localhost" srv "-newkey rsa:1024" int
# an intermediate with a P-224 key (a server key that small is no cipher
# suite BearSSL offers, so the server could not present it)
sign int224 "/O=imap.h PKI test/CN=imap.h P-224 intermediate" ca \
    "-newkey ec -pkeyopt ec_paramgen_curve:P-224" root
sign ec224 "/CN=localhost" srv "$ec" int224
sign clientauth "/CN=localhost" cli "$ec" int
sign unknown "/CN=localhost" srv "$ec" oint
sign leafca "/CN=not a CA" leafca "$ec" int
sign byleaf "/CN=localhost" srv "$ec" leafca
dated expired 20200101000000Z 20210101000000Z
dated notyet 20900101000000Z 20990101000000Z
$o req -x509 -config x.cnf -extensions srv $ec -nodes -keyout self.key -out self.pem \
    -days 36500 -sha256 -subj "/CN=localhost" 2>/dev/null
chain() { # name: leaf, then the rest
    local n=$1
    shift
    cat "$@" > "$n.chain"
}
for n in good_rsa good_ec noeku ipsan sha1 md5 rsa1024 clientauth expired notyet; do
    chain "$n" "$n.pem" int.pem
done
chain unknown unknown.pem oint.pem other.pem
chain leafsigned byleaf.pem leafca.pem int.pem
cp byleaf.key leafsigned.key
chain ec224 ec224.pem int224.pem
chain noint good_rsa.pem
cp good_rsa.key noint.key
chain self self.pem
rm -f ./*.csr
