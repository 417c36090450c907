#!/usr/bin/env bash
# The test command (README): bash tests/run.sh
#
# Installs what it needs on a fresh Debian machine, builds everything with
# warnings as errors under gcc and clang (and imap.h as C++), runs the unit
# tests and the golden transcripts under ASan+UBSan, fuzzes the parser, and
# runs the integration suite against a private Dovecot. The last line is
# "N passed, N failed". Environment:
#   FUZZ_SECONDS   seconds per fuzz target (default 30)
#   IMAP_SKIP_SERVER=1  skip the real-server tests (not in CI)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
B=$(mktemp -d /tmp/imaph-build.XXXXXX)
trap 'rm -rf "$B"' EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
# Run a test binary that ends with "N passed, N failed"; add its counts.
run_counted() {
    local name=$1 out p f
    shift
    out=$("$@" 2>&1)
    local rc=$?
    printf '%s\n' "$out" | grep -v '^ok ' | sed -e '/^[0-9]* passed, [0-9]* failed$/d' -e "s|^|[$name] |"
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -n 1)
    if [ -z "$p" ]; then
        fail "$name: no summary line (exit $rc)"
        return
    fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then fail "$name: exit $rc"; fi
    echo "---- $name: $p passed, $f failed"
}

# ---- set-up ---------------------------------------------------------------
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/gcc:gcc /usr/bin/g++:g++ /usr/bin/clang:clang \
    /usr/bin/nm:binutils /usr/bin/make:make \
    /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev \
    /usr/include/bearssl.h:libbearssl-dev /usr/include/zlib.h:zlib1g-dev

WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- 1. imap.h builds clean everywhere, and never calls the heap ------------
printf '#define IMAP_IMPLEMENTATION\n#include "imap.h"\n' > "$B/impl.c"
for cc in gcc clang; do
    if $cc -std=c99 $WARN -I"$ROOT" -c "$B/impl.c" -o "$B/impl-$cc.o" 2> "$B/err"; then
        pass "imap.h compiles clean: $cc -std=c99 $WARN"
    else
        fail "imap.h compiles clean: $cc -std=c99"; cat "$B/err"
    fi
done
for std in c++11 c++17; do
    if g++ -x c++ -std=$std $WARN -I"$ROOT" -c "$B/impl.c" -o "$B/impl-cxx.o" 2> "$B/err"; then
        pass "imap.h compiles clean as C++: g++ -std=$std"
    else
        fail "imap.h compiles as C++ ($std)"; cat "$B/err"
    fi
done
heap=$(nm -u "$B/impl-gcc.o" 2>/dev/null | awk '{print $2}' |
    grep -E '^(malloc|calloc|realloc|free|strdup|strndup|reallocarray)$' | tr '\n' ' ')
if [ -f "$B/impl-gcc.o" ] && [ -z "$heap" ]; then
    pass "nm: no heap calls in imap.h"
else
    fail "nm: imap.h calls the heap: $heap"
fi
# with BearSSL and zlib: zlib allocates through imap.h's arena, never the heap
FEAT="-DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB"
for build in "clang -std=c99" "g++ -x c++ -std=c++11" "gcc -std=c99"; do
    if $build $WARN $FEAT -I"$ROOT" -c "$B/impl.c" -o "$B/impl-feat.o" 2> "$B/err"; then
        pass "imap.h compiles clean with $FEAT: $build"
    else
        fail "imap.h compiles with $FEAT: $build"; cat "$B/err"; rm -f "$B/impl-feat.o"
    fi
done
heap=$(nm -u "$B/impl-feat.o" 2>/dev/null | awk '{print $2}' |
    grep -E '^(malloc|calloc|realloc|free|strdup|strndup|reallocarray)$' | tr '\n' ' ')
if [ -f "$B/impl-feat.o" ] && [ -z "$heap" ]; then
    pass "nm: no heap calls in imap.h with $FEAT"
else
    fail "nm: imap.h with $FEAT calls the heap: $heap"
fi

# ---- 2. unit tests, under both compilers, with sanitizers --------------------
for t in tests/test_*.c; do
    name=$(basename "$t" .c)
    for cc in gcc clang; do
        if $cc -std=c99 $WARN $SAN -I"$ROOT" "$t" -o "$B/$name-$cc" -lm -lbearssl -lz 2> "$B/err"; then
            run_counted "$name/$cc" "$B/$name-$cc"
        else
            fail "$name/$cc builds"; cat "$B/err"
        fi
    done
done

# ---- 3. golden transcripts through imapdump at several chunk sizes -----------
if gcc -std=c99 $WARN $SAN -I"$ROOT" examples/imapdump.c -o "$B/imapdump" 2> "$B/err"; then
    pass "examples/imapdump.c builds"
    for in in tests/golden/*.in; do
        [ -e "$in" ] || continue
        case=${in%.in}
        want=$case.out
        name=$(basename "$case")
        size=$(wc -c < "$in")
        ok=1
        for chunk in 1 7 4096 $((size > 0 ? size : 1)); do
            "$B/imapdump" -c "$chunk" "$in" > "$B/got" 2> "$B/stderr"
            rc=$?
            wantrc=0
            tail -n 1 "$want" | grep -qx 'ERROR truncated' && wantrc=1
            if ! cmp -s "$B/got" "$want" || [ "$rc" != "$wantrc" ] || [ -s "$B/stderr" ]; then
                ok=0
                echo "  $name at chunk $chunk: exit $rc (want $wantrc)"
                diff "$want" "$B/got" | head -n 10
                head -n 5 "$B/stderr"
                break
            fi
        done
        if [ $ok = 1 ]; then pass "golden $name (chunks 1, 7, 4096, whole)"; else fail "golden $name"; fi
    done
else
    fail "examples/imapdump.c builds"; cat "$B/err"
fi

# ---- 4. a real server: the private Dovecot ---------------------------------
if [ "${IMAP_SKIP_SERVER:-0}" = 1 ]; then
    echo "note: IMAP_SKIP_SERVER=1: real-server tests skipped"
else
    SRV=$(mktemp -d /tmp/imaph-XXXXXX)
    if bash tests/server/dovecot.sh start "$SRV" > "$B/srv.log" 2>&1; then
        pass "private Dovecot started"
        trap 'bash "$ROOT/tests/server/dovecot.sh" stop "$SRV" >/dev/null 2>&1; rm -rf "$B" "$SRV"' EXIT
        if gcc -std=c99 $WARN $SAN -DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB -I"$ROOT" tests/it_dovecot.c -o "$B/it_dovecot" -lbearssl -lz 2> "$B/err"; then
            ( . "$SRV/env" && exec "$B/it_dovecot" ) > "$B/it.out" 2>&1
            run_counted "it_dovecot" cat "$B/it.out"
        else
            fail "tests/it_dovecot.c builds"; cat "$B/err"
        fi
    else
        fail "private Dovecot started"; cat "$B/srv.log"
    fi
fi

# ---- 5. fuzzing ------------------------------------------------------------
# fuzz_target NAME SOURCE CORPUS [DICT [LIBS...]]
fuzz_target() {
    local name=$1 src=$2 corpus=$3 dict=${4:-fuzz/imap.dict}
    shift 3
    [ $# -gt 0 ] && shift
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -I"$ROOT" "$src" -o "$B/$name" "$@" 2> "$B/err"; then
        fail "fuzz $name builds"; cat "$B/err"; return
    fi
    mkdir -p "$B/corpus-$name"
    cp "$corpus"/* "$B/corpus-$name"/ 2>/dev/null
    if "$B/$name" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
        -dict="$dict" -artifact_prefix="$B/crash-" \
        "$B/corpus-$name" > "$B/fuzz.log" 2>&1; then
        pass "fuzz $name for ${FUZZ_SECONDS}s: $(grep -o 'Done [0-9]* runs' "$B/fuzz.log" | tail -n 1)"
    else
        fail "fuzz $name found a crash"; tail -n 40 "$B/fuzz.log"
        ls "$B"/crash-* 2>/dev/null
        for c in "$B"/crash-*; do [ -f "$c" ] && od -c "$c" | head -n 20; done
    fi
}
# seed the parser corpus from the golden transcripts (4 header bytes each)
mkdir -p "$B/seed-parser"
for in in tests/golden/*.in fuzz/corpus/parser/*; do
    [ -f "$in" ] || continue
    { printf '\x10\x00\x07\x00'; cat "$in"; } > "$B/seed-parser/$(basename "$in")"
done
fuzz_target fuzz_parser fuzz/fuzz_parser.c "$B/seed-parser"
fuzz_target fuzz_cmd fuzz/fuzz_cmd.c fuzz/corpus/cmd
fuzz_target fuzz_sasl fuzz/fuzz_sasl.c fuzz/corpus/sasl fuzz/sasl.dict -lbearssl

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
