#!/usr/bin/env bash
# Footprint of imap.h (issue 6): code size per feature set for x86-64 and
# Cortex-M4, sizeof of the public structs, stack depth of a parse and of a
# client step, the least RAM for a working session, and libetpan's shared
# library for comparison. One command (root on Debian 12 installs
# gcc-arm-none-eabi and libnewlib-arm-none-eabi when missing; ~1 minute):
#
#     bash tests/bench/footprint.sh
#
# Code size: for each feature set, a program referencing every public
# function of the set from a volatile table (tests/bench/fp_gen.py) is
# linked with -ffunction-sections -fdata-sections -Wl,--gc-sections against
# imap.h's implementation TU at -Os; the figures are the bytes of that TU
# the linker kept (from the link map), and `size` of the program minus an
# empty program. Sets are cumulative: parser (sections 2-5: results, arena,
# parser, views), + builders (6), + client (7 engine, 8 transports: TCP and
# subprocess on x86-64, none under IMAP_NO_POSIX, 9 client and SASL
# without hashes), + tls (BearSSL glue, CRAM/SCRAM; x86-64 only: Debian has
# no BearSSL for arm-none-eabi).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/bench
PY=/usr/bin/python3
say() { printf '%s\n' "$*" >&2; }

need=""
[ -x /usr/bin/gcc ] || need="$need gcc libc6-dev"
[ -x /usr/bin/arm-none-eabi-gcc ] || need="$need gcc-arm-none-eabi"
[ -d /usr/lib/arm-none-eabi/newlib ] || need="$need libnewlib-arm-none-eabi"
[ -e /usr/include/bearssl.h ] || need="$need libbearssl-dev"
[ -e /usr/include/zlib.h ] || need="$need zlib1g-dev"
[ -e /usr/include/libetpan/libetpan.h ] || need="$need libetpan-dev"
[ -x /usr/bin/python3 ] || need="$need python3"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || { say "need root to install:$need"; exit 1; }
    say "installing:$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

W=$(mktemp -d /tmp/imaph-fp-XXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
printf '#define IMAP_IMPLEMENTATION\n#include "imap.h"\n' > impl.c
echo 'int main(void) { return 0; }' > empty.c

X86_CC="gcc -Os -ffunction-sections -fdata-sections -I$ROOT"
X86_LD="-Wl,--gc-sections"
ARM_CC="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -DIMAP_NO_POSIX -I$ROOT"
ARM_LD="--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections"

# size's text/data/bss of a file, as "text data bss"
sz() { size "$1" | awk 'NR == 2 { print $1, $2, $3 }'; }
armsz() { arm-none-eabi-size "$1" | awk 'NR == 2 { print $1, $2, $3 }'; }

# ---- 1. code size per feature set -----------------------------------------
codesize() {    # ARCH SET
    local arch=$1 set=$2 cc ld sizer extra="" libs="" drop="" e
    if [ "$arch" = x86-64 ]; then cc=$X86_CC; ld=$X86_LD; sizer=sz; else cc=$ARM_CC; ld=$ARM_LD; sizer=armsz; fi
    [ "$set" = tls ] && { extra="-DIMAP_WITH_BEARSSL"; libs="-lbearssl"; }
    # names not declared in this configuration (IMAP_NO_POSIX) are dropped
    for _ in 1 2 3; do
        $PY "$HERE/fp_gen.py" prog "$ROOT/imap.h" "$set" $drop > "p-$arch-$set.c"
        if $cc $extra -c "p-$arch-$set.c" -o "p-$arch-$set.o" 2> err.txt; then break; fi
        e=$(grep -o "'imap_[a-z0-9_]*' undeclared" err.txt | tr -d "'" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
        [ -n "$e" ] || { cat err.txt >&2; exit 1; }
        drop="$drop $e"
    done
    $cc $extra -c impl.c -o "i-$arch-$set.o"
    $cc $ld "p-$arch-$set.o" "i-$arch-$set.o" -o "prog-$arch-$set" -Wl,-Map,"map-$arch-$set" $libs
    local kept prog empty
    kept=$($PY "$HERE/fp_gen.py" mapsum "map-$arch-$set" "i-$arch-$set.o")
    read -r pt pd pb <<< "$($sizer "prog-$arch-$set")"
    read -r et ed eb <<< "$($sizer "empty-$arch")"
    echo "code arch=$arch set=$set $kept prog_text=$((pt - et)) prog_data=$((pd - ed)) prog_bss=$((pb - eb)) functions=$(grep -c '(fp_fn)' "p-$arch-$set.c")"
}
$X86_CC $X86_LD empty.c -o empty-x86-64
$ARM_CC $ARM_LD empty.c -o empty-cortex-m4
RES=$W/results.txt
: > "$RES"
for set in parser builders client tls; do codesize x86-64 "$set" >> "$RES"; done
for set in parser builders client; do codesize cortex-m4 "$set" >> "$RES"; done
# the whole implementation object, nothing dropped
$X86_CC -c impl.c -o whole-x86.o
$ARM_CC -c impl.c -o whole-arm.o
$X86_CC -DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB -c impl.c -o whole-x86-all.o
echo "whole arch=x86-64 cfg=default $(sz whole-x86.o | awk '{print "text="$1" data="$2" bss="$3}')" >> "$RES"
echo "whole arch=x86-64 cfg=bearssl+zlib $(sz whole-x86-all.o | awk '{print "text="$1" data="$2" bss="$3}')" >> "$RES"
echo "whole arch=cortex-m4 cfg=IMAP_NO_POSIX $(armsz whole-arm.o | awk '{print "text="$1" data="$2" bss="$3}')" >> "$RES"

# ---- 2. sizeof the public structs -------------------------------------------
# BearSSL's and zlib's headers are plain C: copy them aside so that the ARM
# compiler can see them without the host's /usr/include.
mkdir -p hdr
cp -r /usr/include/bearssl.h /usr/include/bearssl /usr/include/zlib.h /usr/include/zconf.h hdr/
EMB="-DIMAP_MAX_PENDING=4 -DIMAP_CMD_MAX_SEGMENTS=4 -DIMAP_CAPS_BYTES=256 -DIMAP_READ_CHUNK=64 -DIMAP_INJECT_BYTES=32 -DIMAP_DEBUG_LINES=4 -DIMAP_DEBUG_LINE_BYTES=64 -DIMAP_MAX_DEPTH=16"
cat > sz.c <<'C'
#include "bearssl.h"
#include "imap.h"
#define S(T) const unsigned long sz_##T = sizeof(T);
S(imap_parser) S(imap_client) S(imap_cmd) S(imap_sasl)
#ifndef IMAP_NO_POSIX
S(imap_tcp) S(imap_stream)
#endif
S(imap_script) S(imap_tls) S(imap_deflate)
C
sizes() {   # LABEL CC FLAGS...
    local label=$1
    shift
    "$@" -DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB -I"$W/hdr" -S sz.c -o sz.s 2> err.txt || { cat err.txt >&2; return 1; }
    echo "sizeof cfg=$label $(awk '/^sz_[a-z_]*:/ { n = substr($1, 4, length($1) - 4) } n && /\.(word|long|quad)/ { printf "%s=%s ", n, $2; n = "" }' sz.s)"
}
sizes x86-64-default $X86_CC >> "$RES"
sizes x86-64-embedded $X86_CC $EMB >> "$RES"
sizes x86-64-embedded-mono $X86_CC $EMB -DIMAP_TLS_BUFSIZE=BR_SSL_BUFSIZE_MONO >> "$RES"
sizes cortex-m4-default $ARM_CC >> "$RES"
sizes cortex-m4-embedded $ARM_CC $EMB >> "$RES"
sizes cortex-m4-embedded-mono $ARM_CC $EMB -DIMAP_TLS_BUFSIZE=BR_SSL_BUFSIZE_MONO >> "$RES"

# ---- 3. stack: -fstack-usage and the call graph ------------------------------
stack() {   # LABEL CC FLAGS...
    local label=$1
    shift
    mkdir -p "su-$label"
    (cd "su-$label" && "$@" -fstack-usage -fcallgraph-info=su -c ../impl.c -o impl.o)
    sort -t"$(printf '\t')" -k2 -n -r "su-$label/impl.su" > "su-$label/sorted"
    head -n 8 "su-$label/sorted" |
        awk -F'\t' -v l="$label" '{ n = split($1, a, ":"); printf "frame arch=%s fn=%s bytes=%s kind=%s\n", l, a[n], $2, $3 }'
    $PY "$HERE/fp_gen.py" chain "su-$label" imap_parser_feed imap_client_feed imap_client_poll |
        sed "s/^/chain arch=$label /"
    # the same outside AUTHENTICATE (its SASL step holds the big buffers)
    $PY "$HERE/fp_gen.py" chain "su-$label" --skip='auth' imap_client_feed imap_client_poll |
        sed "s/^/chain-noauth arch=$label /"
}
stack x86-64 $X86_CC >> "$RES"
stack cortex-m4 $ARM_CC >> "$RES"

# ---- 4. least RAM: examples/embedded.c with a smaller buffer -----------------
# embedded.c runs a canned session (greeting, LOGIN, EXAMINE, IDLE, FETCH
# ENVELOPE, LOGOUT) and exits 0 when it worked; find the smallest imap_mem.
sed 's/imap_mem\[6 \* 1024\]/imap_mem[EMB_MEM]/' "$ROOT/examples/embedded.c" > emb.c
grep -q 'imap_mem\[EMB_MEM\]' emb.c || { say "examples/embedded.c: imap_mem not found"; exit 1; }
emb_ok() { gcc -O1 -I"$ROOT" -DEMB_MEM="$1" emb.c -o emb 2> err.txt && ./emb > /dev/null 2>&1; }
lo=256 hi=6144
emb_ok $hi || { say "embedded.c fails with its own 6 KiB"; exit 1; }
while [ $((hi - lo)) -gt 64 ]; do
    mid=$(( (lo + hi) / 2 / 64 * 64 ))
    if emb_ok $mid; then hi=$mid; else lo=$mid; fi
done
echo "embedded min_mem=$hi (works; $lo does not)" >> "$RES"
# one RSA-2048 CA: what imap_tls_init says it needs
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/O=imap.h footprint/CN=footprint test CA" 2> /dev/null
cat > anchors.c <<'C'
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include <stdio.h>
static imap_tls t;
static unsigned char mem[65536];
int main(void)
{
    imap_tls_config cfg = { 0 };
    cfg.ca_file = "ca.pem";
    int rc = imap_tls_init(&t, &cfg, mem, sizeof mem);
    /* on success t.needed is the exact use */
    printf("anchor_need rc=%s anchors=%u needed=%lu\n", imap_result_name(rc), (unsigned)t.anchors, (unsigned long)t.needed);
    return 0;
}
C
gcc -O1 -I"$ROOT" -DIMAP_WITH_BEARSSL anchors.c -o anchors -lbearssl && ./anchors >> "$RES"

# ---- 5. libetpan for comparison ---------------------------------------------
for f in /usr/lib/x86_64-linux-gnu/libetpan.so.*.*.* /usr/lib/x86_64-linux-gnu/libbearssl.so.*.*; do
    [ -e "$f" ] && echo "lib file=$(basename "$f") bytes=$(stat -c %s "$f") $(sz "$f" | awk '{print "text="$1" data="$2" bss="$3}')" >> "$RES"
done

echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
echo "compilers: $(gcc --version | head -n 1); $(arm-none-eabi-gcc --version | head -n 1); newlib $(dpkg-query -W -f '${Version}' libnewlib-arm-none-eabi 2>/dev/null || echo '?'); libbearssl-dev $(dpkg-query -W -f '${Version}' libbearssl-dev 2>/dev/null || echo '?')"
echo "command: bash tests/bench/footprint.sh"
$PY "$HERE/fp_report.py" "$RES"
