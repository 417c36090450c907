#!/usr/bin/env bash
# The test command (README): bash tests/run.sh
#
# Installs what it needs on a fresh Debian machine, builds everything with
# warnings as errors under gcc and clang (and imap.h as C++), runs the unit
# tests and the golden transcripts under ASan+UBSan, fuzzes the parser, and
# runs the integration suite against a private Dovecot (and again under
# valgrind), runs the guard-page test without sanitizers, replays the
# committed fuzz corpora and fuzzes each target. The last line is
# "N passed, N failed". Environment:
#   FUZZ_SECONDS   seconds per fuzz target (default 60)
#   IMAP_SKIP_SERVER=1  skip the real-server tests (not in CI)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
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
    /usr/bin/nm:binutils /usr/bin/make:make /usr/bin/valgrind:valgrind \
    /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev

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

# ---- 2. unit tests, under both compilers, with sanitizers --------------------
for t in tests/test_*.c; do
    name=$(basename "$t" .c)
    for cc in gcc clang; do
        if $cc -std=c99 $WARN $SAN -I"$ROOT" "$t" -o "$B/$name-$cc" -lm 2> "$B/err"; then
            run_counted "$name/$cc" "$B/$name-$cc"
        else
            fail "$name/$cc builds"; cat "$B/err"
        fi
    done
done

# the guard-page test once more without any sanitizer: an over-read must
# fault by itself
if gcc -std=c99 $WARN -O2 -I"$ROOT" tests/test_guard.c -o "$B/test_guard-O2" 2> "$B/err"; then
    run_counted "test_guard/gcc -O2 (no sanitizer)" "$B/test_guard-O2"
else
    fail "test_guard/gcc -O2 builds"; cat "$B/err"
fi

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
        if gcc -std=c99 $WARN $SAN -I"$ROOT" tests/it_dovecot.c -o "$B/it_dovecot" 2> "$B/err"; then
            ( . "$SRV/env" && exec "$B/it_dovecot" ) > "$B/it.out" 2>&1
            run_counted "it_dovecot" cat "$B/it.out"
        else
            fail "tests/it_dovecot.c builds"; cat "$B/err"
        fi
        # the same suite under valgrind memcheck, built without sanitizers
        if gcc -std=c99 $WARN -g -O1 -I"$ROOT" tests/it_dovecot.c -o "$B/it_dovecot-vg" 2> "$B/err"; then
            t0=$(date +%s)
            ( . "$SRV/env" && exec valgrind -q --error-exitcode=1 --leak-check=full \
                --show-leak-kinds=all --errors-for-leak-kinds=all "$B/it_dovecot-vg" ) > "$B/vg.out" 2>&1
            vrc=$?
            run_counted "it_dovecot under valgrind ($(( $(date +%s) - t0 ))s)" cat "$B/vg.out"
            if [ "$vrc" = 0 ]; then
                pass "valgrind: no memcheck errors in it_dovecot"
            else
                fail "valgrind: memcheck errors in it_dovecot (exit $vrc)"
                grep -E '^==[0-9]+==' "$B/vg.out" | head -n 40
            fi
        else
            fail "tests/it_dovecot.c builds without sanitizers"; cat "$B/err"
        fi
    else
        fail "private Dovecot started"; cat "$B/srv.log"
    fi
fi

# ---- 5. fuzzing ------------------------------------------------------------
# Each target: the committed corpus fuzz/corpus/NAME replayed through the
# plain driver (fuzz/main.c, sanitizers on), then libFuzzer for
# FUZZ_SECONDS from that corpus. fuzz/README tells the longer campaigns.
fuzz_target() {
    local name=$1 src=$2 corpus=$3 dict=$4 n
    if ! clang -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
        -I"$ROOT" "$src" fuzz/main.c -o "$B/$name-replay" 2> "$B/err"; then
        fail "fuzz $name replay driver builds"; cat "$B/err"; return
    fi
    n=$(find "$corpus" -type f 2>/dev/null | wc -l)
    if [ "$n" -gt 0 ]; then
        if find "$corpus" -type f -print0 | xargs -0 "$B/$name-replay" > "$B/replay.log" 2>&1; then
            pass "fuzz $name: corpus of $n inputs replays clean"
        else
            fail "fuzz $name: corpus replay"; tail -n 30 "$B/replay.log"
        fi
    fi
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -I"$ROOT" "$src" -o "$B/$name" 2> "$B/err"; then
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
    case $in in
        fuzz/*) cp "$in" "$B/seed-parser/c-$(basename "$in")" ;;
        *) { printf '\x10\x00\x07\x00'; cat "$in"; } > "$B/seed-parser/$(basename "$in")" ;;
    esac
done
cat fuzz/imap.dict fuzz/engine.dict > "$B/engine.dict"
fuzz_target fuzz_parser fuzz/fuzz_parser.c "$B/seed-parser" fuzz/imap.dict
fuzz_target fuzz_cmd fuzz/fuzz_cmd.c fuzz/corpus/cmd fuzz/imap.dict
fuzz_target fuzz_engine fuzz/fuzz_engine.c fuzz/corpus/engine "$B/engine.dict"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
