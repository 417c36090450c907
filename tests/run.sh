#!/usr/bin/env bash
# The test command (README): bash tests/run.sh
#
# Installs what it needs on a fresh Debian machine, builds everything with
# warnings as errors under gcc and clang (and imap.h as C++), runs the unit
# tests and the golden transcripts under ASan+UBSan, fuzzes the parser, and
# runs the integration suite against a private Dovecot, GNU Mailutils and
# Cyrus IMAP (each session then replayed with faults at every byte
# offset). Also: the compile matrix (tests/compile.sh), a Cortex-M4
# firmware build (tests/firmware/build.sh) run under QEMU against Dovecot
# (tests/firmware/run.sh) and Windows (mingw-w64, tests
# under wine: tests/windows/build.sh), the integration suite again under
# valgrind, the guard-page test without sanitizers, the committed fuzz
# corpora replayed and each fuzz target run. The last line is
# "N passed, N failed". Environment:
#   FUZZ_SECONDS   seconds per fuzz target (default 60)
#   AFL_SECONDS    seconds per target under AFL++ (default 10)
#   IMAP_SKIP_SERVER=1  skip the real-server tests (not in CI)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
B=$(mktemp -d /tmp/imaph-build.XXXXXX)
STOP_SERVERS=()         # "script:DIR" of each server started, stopped at exit
cleanup() {
    local s
    for s in ${STOP_SERVERS[@]+"${STOP_SERVERS[@]}"}; do
        bash "$ROOT/tests/server/${s%%:*}.sh" stop "${s#*:}" > /dev/null 2>&1
        rm -rf "${s#*:}"
    done
    rm -rf "$B"
}
trap cleanup EXIT

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
    /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev \
    /usr/bin/afl-fuzz:afl++ \
    /usr/include/bearssl.h:libbearssl-dev /usr/include/zlib.h:zlib1g-dev \
    /etc/ssl/certs/ca-certificates.crt:ca-certificates \
    /usr/bin/arm-none-eabi-gcc:gcc-arm-none-eabi \
    /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a:libnewlib-arm-none-eabi \
    /usr/bin/x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 /usr/bin/x86_64-w64-mingw32-g++:g++-mingw-w64-x86-64

WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- 1. imap.h builds clean everywhere, and never calls the heap ------------
# Plain, with the optional TLS layer, and TLS without POSIX (firmware).
printf '#define IMAP_IMPLEMENTATION\n#include "imap.h"\n' > "$B/impl.c"
# zlib allocates through imap.h's arena, never the heap: nm checks that too.
for feat in "" "-DIMAP_WITH_BEARSSL" "-DIMAP_WITH_BEARSSL -DIMAP_NO_POSIX" \
    "-DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB"; do
    tagname=${feat:+ $feat}
    suf=$(printf '%s' "$feat" | tr -c 'A-Za-z0-9' '_')
    for cc in gcc clang; do
        # shellcheck disable=SC2086
        if $cc -std=c99 $WARN $feat -I"$ROOT" -c "$B/impl.c" -o "$B/impl-$cc$suf.o" 2> "$B/err"; then
            pass "imap.h compiles clean: $cc -std=c99 $WARN$tagname"
        else
            fail "imap.h compiles clean: $cc -std=c99$tagname"; cat "$B/err"
        fi
    done
    for std in c++11 c++17; do
        # shellcheck disable=SC2086
        if g++ -x c++ -std=$std $WARN $feat -I"$ROOT" -c "$B/impl.c" -o "$B/impl-cxx.o" 2> "$B/err"; then
            pass "imap.h compiles clean as C++: g++ -std=$std$tagname"
        else
            fail "imap.h compiles as C++ ($std$tagname)"; cat "$B/err"
        fi
    done
    heap=$(nm -u "$B/impl-gcc$suf.o" 2>/dev/null | awk '{print $2}' |
        grep -E '^(malloc|calloc|realloc|free|strdup|strndup|reallocarray)$' | tr '\n' ' ')
    if [ -f "$B/impl-gcc$suf.o" ] && [ -z "$heap" ]; then
        pass "nm: no heap calls in imap.h$tagname"
    else
        fail "nm: imap.h$tagname calls the heap: $heap"
    fi
done

# ---- 1b. the compile matrix: compilers x modes x -O0/-O2 x feature sets ---
run_counted compile bash tests/compile.sh

# ---- 2. unit tests, under both compilers, with sanitizers --------------------
# A test whose first line is "/* build: FLAGS */" gets FLAGS too
# (tests/test_tls.c: -DIMAP_WITH_BEARSSL -lbearssl).
for t in tests/test_*.c; do
    name=$(basename "$t" .c)
    extra=$(sed -n '1s|^/\* build: \(.*\) \*/$|\1|p' "$t")
    for cc in gcc clang; do
        # shellcheck disable=SC2086
        if $cc -std=c99 $WARN $SAN -I"$ROOT" "$t" -o "$B/$name-$cc" -lm $extra 2> "$B/err"; then
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

# the unit tests built as C++17 too: imap.h is used from C++ as well
for t in tests/test_parser.c tests/test_cmd.c tests/test_engine.c; do
    name=$(basename "$t" .c)
    if g++ -x c++ -std=c++17 $WARN $SAN -I"$ROOT" "$t" -o "$B/$name-cxx17" 2> "$B/err"; then
        run_counted "$name/g++ -std=c++17" "$B/$name-cxx17"
    else
        fail "$name/g++ -std=c++17 builds"; cat "$B/err"
    fi
done

# ---- 2b. firmware: Cortex-M4, no OS, newlib-nano ---------------------------
run_counted firmware bash tests/firmware/build.sh
# ...and running under QEMU (mps2-an386) against Dovecot over the UART,
# with its figures (tests/firmware/run.sh; ~2 minutes)
if [ "${IMAP_SKIP_SERVER:-0}" = 1 ]; then
    echo "note: IMAP_SKIP_SERVER=1: the QEMU firmware sessions are skipped"
else
    run_counted firmware-qemu bash tests/firmware/run.sh
fi

# ---- 2c. TLS: a private PKI served by OpenSSL, each bad certificate refused
# with its code and words, the good ones accepted (tests/it_tls_pki.sh)
imaph_ensure_pkgs /usr/bin/openssl:openssl /usr/include/openssl/ssl.h:libssl-dev \
    /usr/include/mbedtls/ssl.h:libmbedtls-dev
CFLAGS="$SAN" run_counted it_tls_pki bash tests/it_tls_pki.sh "$B"

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
# the same transcripts with the scalar scanners (IMAP_NO_SIMD): identical
if gcc -std=c99 $WARN $SAN -DIMAP_NO_SIMD -I"$ROOT" examples/imapdump.c -o "$B/imapdump-scalar" 2> "$B/err"; then
    bad=""
    for in in tests/golden/*.in; do
        size=$(wc -c < "$in")
        for chunk in 1 7 4096 $((size > 0 ? size : 1)); do
            "$B/imapdump-scalar" -c "$chunk" "$in" 2>&1 | cmp -s - "${in%.in}.out" ||
                { bad="$bad $(basename "${in%.in}")@$chunk"; break; }
        done
    done
    if [ -z "$bad" ]; then pass "golden transcripts with IMAP_NO_SIMD (chunks 1, 7, 4096, whole)"; else fail "golden with IMAP_NO_SIMD:$bad"; fi
else
    fail "imapdump builds with IMAP_NO_SIMD"; cat "$B/err"
fi

# ---- 3b. every example builds clean (one cc line each); embedded.c runs -----
for ex in examples/*.c; do
    name=$(basename "$ex" .c)
    extra=$(sed -n '1s|^/\* build: \(.*\) \*/$|\1|p' "$ex")   # e.g. tls_openssl.c's -lssl
    for cc in gcc clang; do
        # shellcheck disable=SC2086
        if $cc -std=c99 $WARN -O2 -I"$ROOT" "$ex" -o "$B/ex-$name-$cc" $extra 2> "$B/err"; then
            pass "examples/$name.c builds clean: $cc -std=c99 -O2 $WARN"
        else
            fail "examples/$name.c builds clean ($cc)"; cat "$B/err"
        fi
    done
done
# the firmware example: runs its scripted session to the end, also without stdio
for flags in "" "-DNO_PRINTF"; do
    if gcc -std=c99 $WARN $SAN $flags -I"$ROOT" examples/embedded.c -o "$B/embedded" 2> "$B/err"; then
        "$B/embedded" > "$B/embedded.out" 2>&1
        rc=$?
        if [ "$rc" = 0 ] && { [ -n "$flags" ] || grep -qx 'ok' "$B/embedded.out"; }; then
            pass "examples/embedded.c ${flags:+($flags) }runs its UART session under ASan+UBSan"
        else
            fail "examples/embedded.c ${flags:+($flags) }runs (exit $rc)"; tail -n 20 "$B/embedded.out"
        fi
    else
        fail "examples/embedded.c ${flags:+($flags) }builds with sanitizers"; cat "$B/err"
    fi
done
# (its Cortex-M4 firmware image is built in step 2b)

# ---- 4b. the examples against the private Dovecot (called from 4) ---------
# imapcat round trips, exit codes, streaming, IDLE; fetch_all; idle.
# Waits are bounded loops on output, never assertions about time.
examples_vs_dovecot() {
    local cat="$B/imapcat" url out rc uid uid2 big i p ok
    for ex in imapcat fetch_all idle; do
        if ! gcc -std=c99 $WARN $SAN -I"$ROOT" "examples/$ex.c" -o "$B/$ex" 2> "$B/err"; then
            fail "examples/$ex.c builds with sanitizers"; cat "$B/err"; return
        fi
    done
    (
    . "$SRV/env"
    url="imap://$IMAP_TEST_USER@$IMAP_TEST_HOST:$IMAP_TEST_PORT"
    # (the functions below print ok/FAIL lines; the parent counts them)
    ck() { if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; shift 2; [ $# = 0 ] || printf '  %s\n' "$@"; fi; }
    export IMAP_PASSWORD=$IMAP_TEST_PASS

    out=$("$cat" "$url" list 2>&1); rc=$?
    printf '%s\n' "$out" | grep -q "^INBOX" ; ck $(( rc || $? )) "imapcat list shows INBOX" "exit $rc" "$out"

    tok="imapcat-$$-$RANDOM"
    printf 'From: Round Trip <rt@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nfirst line\r\nsecond line\r\n' "$tok" > "$B/rt.eml"
    uid=$("$cat" "$url/INBOX" append "$B/rt.eml" 2> "$B/err"); rc=$?
    case $uid in ''|*[!0-9]*) ck 1 "imapcat append prints the new UID" "exit $rc, got '$uid'" "$(cat "$B/err")";;
                 *) ck $rc "imapcat append prints the new UID ($uid)";; esac
    "$cat" "$url" fetch "$uid" > "$B/rt.out" 2> "$B/err"; rc=$?
    cmp -s "$B/rt.eml" "$B/rt.out"; ck $(( rc || $? )) "imapcat fetch gives back the appended bytes" "exit $rc" "$(cat "$B/err")"
    sed -n '1,/^\r$/p' "$B/rt.eml" > "$B/rt.hdr"
    "$cat" "$url" fetch --headers "$uid" > "$B/rt.out" 2> "$B/err"; rc=$?
    cmp -s "$B/rt.hdr" "$B/rt.out"; ck $(( rc || $? )) "imapcat fetch --headers gives the header only" "exit $rc" "$(cat "$B/err")"
    out=$("$cat" "$url" search SUBJECT "$tok" 2>&1); rc=$?
    [ "$out" = "$uid" ]; ck $(( rc || $? )) "imapcat search finds it by subject" "exit $rc, got '$out'"
    out=$("$cat" "$url/INBOX/;UID=$uid" fetch 2>&1 | grep -c "^Subject: $tok")
    [ "$out" = 1 ]; ck $? "imapcat fetch takes the UID from an RFC 5092 URL"
    printf 'Subject: lf-%s\n\nbare LF\n' "$tok" > "$B/lf.eml"
    uid2=$("$cat" "$url" append "$B/lf.eml" 2> "$B/err")
    "$cat" "$url" fetch "$uid2" > "$B/lf.out" 2>> "$B/err"; rc=$?
    sed 's/$/\r/' "$B/lf.eml" | cmp -s - "$B/lf.out"; ck $(( rc || $? )) "imapcat append makes bare LF line ends CRLF" "$(cat "$B/err")"
    out=$("$cat" "$url" stat 2>&1); rc=$?
    printf '%s\n' "$out" | grep -qx "uidnext $((uid2 + 1))"; ck $(( rc || $? )) "imapcat stat counts (uidnext $((uid2 + 1)))" "exit $rc" "$out"

    # a message far bigger than the client's 256 KiB: streamed through the sink
    awk 'BEGIN { printf "Subject: big\r\n\r\n"; for (i = 0; i < 70000; i++) printf "%07d the quick brown fox jumps over the lazy dog\r\n", i }' > "$B/big.eml"
    big=$("$cat" "$url" append "$B/big.eml" 2> "$B/err")
    "$cat" "$url" fetch "$big" > "$B/big.out" 2>> "$B/err"; rc=$?
    cmp -s "$B/big.eml" "$B/big.out"; ck $(( rc || $? )) "imapcat fetch streams a $(( $(wc -c < "$B/big.eml") / 1000000 )) MB message to stdout intact" "exit $rc" "$(cat "$B/err")"

    # exit codes a script can use
    "$cat" "$url" fetch 4000000000 > /dev/null 2>&1; rc=$?
    [ $rc = 5 ]; ck $? "imapcat: a UID that does not exist exits 5" "exit $rc"
    "$cat" "$url/NoSuchBox-$$" stat > /dev/null 2>&1; rc=$?
    [ $rc = 5 ]; ck $? "imapcat: a mailbox that does not exist exits 5" "exit $rc"
    IMAP_PASSWORD=wrong "$cat" "$url" list > /dev/null 2> "$B/err"; rc=$?
    [ $rc = 3 ] && grep -q refused "$B/err"; ck $? "imapcat: a wrong password exits 3" "exit $rc" "$(cat "$B/err")"
    "$cat" "imap://u@127.0.0.1:1/" list > /dev/null 2>&1; rc=$?
    [ $rc = 2 ]; ck $? "imapcat: a refused connection exits 2" "exit $rc"
    "$cat" "$url" frobnicate > /dev/null 2>&1; rc=$?
    [ $rc = 1 ]; ck $? "imapcat: a usage error exits 1" "exit $rc"
    "$cat" "imaps://u@127.0.0.1:1/" list > /dev/null 2>&1; rc=$?
    [ $rc = 2 ]; ck $? "imapcat: imaps:// without TLS built in exits 2, no plaintext" "exit $rc"

    # imapcat with TLS built in: implicit TLS and STARTTLS with the test CA;
    # a certificate for another name fails with exit 2, never plaintext
    if gcc -std=c99 $WARN $SAN -DIMAP_WITH_BEARSSL -I"$ROOT" examples/imapcat.c \
        -o "$B/imapcat-tls" -lbearssl 2> "$B/err"; then
        out=$("$B/imapcat-tls" --cafile "$IMAP_TEST_CA" "imaps://$IMAP_TEST_USER@localhost:$IMAP_TEST_SSL_PORT/" list 2>&1); rc=$?
        printf '%s\n' "$out" | grep -q "^INBOX"; ck $(( rc || $? )) "imapcat imaps:// lists over TLS with --cafile" "exit $rc" "$out"
        out=$("$B/imapcat-tls" --starttls --cafile "$IMAP_TEST_CA" "imap://$IMAP_TEST_USER@localhost:$IMAP_TEST_PORT/" list 2>&1); rc=$?
        printf '%s\n' "$out" | grep -q "^INBOX"; ck $(( rc || $? )) "imapcat --starttls lists over TLS" "exit $rc" "$out"
        out=$("$B/imapcat-tls" "imaps://$IMAP_TEST_USER@localhost:$IMAP_TEST_SSL_PORT/" list 2>&1); rc=$?
        [ $rc = 2 ] && printf '%s\n' "$out" | grep -qi "trusted CA"; ck $? "imapcat imaps:// without the test CA exits 2 (unknown CA)" "exit $rc" "$out"
        out=$("$B/imapcat-tls" --insecure "imaps://$IMAP_TEST_USER@localhost:$IMAP_TEST_SSL_PORT/" list 2>&1); rc=$?
        [ $rc = 0 ] && printf '%s\n' "$out" | grep -q "WARNING: --insecure"; ck $? "imapcat --insecure works and says so on stderr" "exit $rc" "$out"
    else
        ck 1 "examples/imapcat.c builds with -DIMAP_WITH_BEARSSL" "$(cat "$B/err")"
    fi

    # the stream transport (PREAUTH) sees the same Maildir
    out=$("$cat" --stream "$IMAP_TEST_STREAM_CMD" search SUBJECT "lf-$tok" 2>&1); rc=$?
    [ "$out" = "$uid2" ]; ck $(( rc || $? )) "imapcat --stream (PREAUTH) finds the message too" "exit $rc, got '$out'"

    # idle: a line per new message; Ctrl-C ends it cleanly
    "$cat" -v "$url" idle --timeout 60 > "$B/idle.out" 2> "$B/idle.err" &
    p=$!
    for i in $(seq 100); do grep -q '^  S: + ' "$B/idle.err" && break; sleep 0.1; done
    sed "s/$tok/idle-$tok/" "$B/rt.eml" > "$B/idle.eml"
    uid=$("$cat" "$url" append "$B/idle.eml" 2> /dev/null)
    for i in $(seq 150); do grep -q "idle-$tok" "$B/idle.out" && break; sleep 0.1; done
    kill -INT $p; wait $p; rc=$?
    printf '%s\t%s\t%s\n' "$uid" "Round Trip <rt@example.org>" "idle-$tok" | cmp -s - "$B/idle.out"
    ck $(( rc || $? )) "imapcat idle prints the new message (UID, From, Subject) and ends on SIGINT" "exit $rc" "$(cat "$B/idle.out")" "$(tail -n 5 "$B/idle.err")"

    # the other examples
    "$B/fetch_all" "$IMAP_TEST_HOST" "$IMAP_TEST_PORT" "$IMAP_TEST_USER" > "$B/fa.out" 2>&1; rc=$?
    grep -q "^  Subject: $tok" "$B/fa.out" && grep -q 'messages in INBOX$' "$B/fa.out"
    ck $(( rc || $? )) "examples/fetch_all.c prints the messages" "exit $rc" "$(tail -n 5 "$B/fa.out")"
    "$B/idle" -t 60 -n 1 "$IMAP_TEST_HOST" "$IMAP_TEST_PORT" "$IMAP_TEST_USER" > "$B/idle2.out" 2>&1 &
    p=$!
    for i in $(seq 100); do grep -q '^Waiting' "$B/idle2.out" && break; sleep 0.1; done
    sed "s/$tok/idle2-$tok/" "$B/rt.eml" > "$B/idle2.eml"
    "$cat" "$url" append "$B/idle2.eml" > /dev/null 2>&1
    wait $p; rc=$?
    grep -q "^New message [0-9]* from Round Trip <rt@example.org>: idle2-$tok$" "$B/idle2.out"
    ck $(( rc || $? )) "examples/idle.c says who the new message is from" "exit $rc" "$(cat "$B/idle2.out")"
    ) > "$B/ex.out" 2>&1
    while IFS= read -r line; do
        case $line in
            "ok   "*) pass "${line#ok   }";;
            "FAIL "*) fail "${line#FAIL }";;
            *) printf '%s\n' "$line";;
        esac
    done < "$B/ex.out"
}

# ---- 4. a real server: the private Dovecot ---------------------------------
if [ "${IMAP_SKIP_SERVER:-0}" = 1 ]; then
    echo "note: IMAP_SKIP_SERVER=1: real-server tests skipped"
else
    SRV=$(mktemp -d /tmp/imaph-XXXXXX)
    if bash tests/server/dovecot.sh start "$SRV" > "$B/srv.log" 2>&1; then
        pass "private Dovecot started"
        STOP_SERVERS+=("dovecot:$SRV")
        WIN_ENV=$SRV/env
        if gcc -std=c99 $WARN $SAN -DIMAP_WITH_BEARSSL -DIMAP_WITH_ZLIB -I"$ROOT" tests/it_dovecot.c -o "$B/it_dovecot" -lbearssl -lz 2> "$B/err"; then
            # IMAP_TEST_FAULTS: each session recorded, then replayed with
            # one-byte I/O, would-block, a drop and a stall at every offset
            ( . "$SRV/env" && IMAP_TEST_FAULTS=1 exec "$B/it_dovecot" ) > "$B/it.out" 2>&1
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
        examples_vs_dovecot
        run_counted tls_examples/dovecot bash tests/it_tls_examples.sh "$B" "$SRV/env"
        # issue 13: README's C blocks, fetch_all vs a hostile server, the
        # store and per-call sink on 3,000 messages, the imaplib diff test
        run_counted "facade (tests/facade.sh)" bash tests/facade.sh "$SRV"
        # imapcat sync: first and incremental pulls by each path, cut short
        # and resumed, checked against the server with Python's imaplib
        imaph_ensure_pkgs /usr/bin/python3:python3
        [ -x "$B/imapcat" ] && run_counted sync bash tests/sync/run.sh "$SRV" "$B/imapcat" "$B/idle"
        # MIME decoding: a generated mailbox judged by Python's email package
        run_counted "mime vs Python email" bash tests/mime/run.sh "$SRV/env"
    else
        fail "private Dovecot started"; cat "$B/srv.log"
    fi
    # ---- 4b. the same suite against GNU Mailutils imap4d and Cyrus IMAP ----
    for server in mailutils cyrus; do
        [ -x "$B/it_dovecot" ] || break
        D=$(mktemp -d /tmp/imaph-XXXXXX)
        STOP_SERVERS+=("$server:$D")
        if bash "tests/server/$server.sh" start "$D" > "$B/srv.log" 2>&1; then
            pass "private $server started"
            ( . "$D/env" && IMAP_TEST_FAULTS=1 exec "$B/it_dovecot" ) > "$B/it.out" 2>&1
            run_counted "it_dovecot/$server" cat "$B/it.out"
            run_counted "tls_examples/$server" bash tests/it_tls_examples.sh "$B" "$D/env"
            # imapcat sync by the best path it offers (Cyrus QRESYNC, Mailutils plain)
            [ -x "$B/imapcat" ] && run_counted "sync/$server" bash tests/sync/run.sh "$D" "$B/imapcat"
        else
            fail "private $server started"; cat "$B/srv.log"
        fi
    done
fi

# ---- 4c. the README demo: bash examples/demo.sh -----------------------------
if [ "${IMAP_SKIP_SERVER:-0}" = 1 ]; then
    echo "note: IMAP_SKIP_SERVER=1: the demo is skipped"
else
    DEMO=$(mktemp -d /tmp/imaph-demo.XXXXXX)
    if IMAPH_DEMO_DIR="$DEMO" bash examples/demo.sh > "$B/demo.out" 2>&1 < /dev/null; then
        if grep -q '^INBOX' "$B/demo.out" && grep -q '^Archive' "$B/demo.out" &&
            grep -q '^Work' "$B/demo.out" && grep -q '^Subject: Re: Lunch on Friday?' "$B/demo.out"; then
            pass "bash examples/demo.sh: lists the mailboxes and fetches a message"
        else
            fail "bash examples/demo.sh output"; cat "$B/demo.out"
        fi
    else
        fail "bash examples/demo.sh exits 0"; tail -n 30 "$B/demo.out"
    fi
    rm -rf "$DEMO"
fi

# ---- 4d. Windows: mingw-w64 builds, tests under wine (also against Dovecot)
run_counted windows bash tests/windows/build.sh ${WIN_ENV:-}

# ---- 5. fuzzing ------------------------------------------------------------
# Each target: the committed corpus (or seeds) replayed through the plain
# driver (fuzz/main.c, sanitizers on), then libFuzzer for FUZZ_SECONDS from
# it. fuzz/README tells the longer campaigns.
# fuzz_target NAME SOURCE CORPUS [DICT [LIBS...]]
fuzz_target() {
    local name=$1 src=$2 corpus=$3 dict=${4:-fuzz/imap.dict} n
    shift 3
    [ $# -gt 0 ] && shift
    if ! clang -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
        -I"$ROOT" "$src" fuzz/main.c -o "$B/$name-replay" "$@" 2> "$B/err"; then
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
    case $in in
        fuzz/*) cp "$in" "$B/seed-parser/c-$(basename "$in")" ;;
        *) { printf '\x10\x00\x07\x00'; cat "$in"; } > "$B/seed-parser/$(basename "$in")" ;;
    esac
done
cat fuzz/imap.dict fuzz/engine.dict > "$B/engine.dict"
fuzz_target fuzz_parser fuzz/fuzz_parser.c "$B/seed-parser" fuzz/imap.dict
fuzz_target fuzz_simd fuzz/fuzz_simd.c "$B/seed-parser" fuzz/imap.dict
fuzz_target fuzz_cmd fuzz/fuzz_cmd.c fuzz/corpus/cmd fuzz/imap.dict
fuzz_target fuzz_engine fuzz/fuzz_engine.c fuzz/corpus/engine "$B/engine.dict"
fuzz_target fuzz_model fuzz/fuzz_model.c fuzz/corpus/model "$B/engine.dict"
fuzz_target fuzz_sasl fuzz/fuzz_sasl.c fuzz/corpus/sasl fuzz/sasl.dict -lbearssl
fuzz_target fuzz_tls fuzz/fuzz_tls.c fuzz/corpus/tls fuzz/tls.dict -lbearssl
fuzz_target fuzz_mime fuzz/fuzz_mime.c fuzz/corpus/mime fuzz/mime.dict

# The same targets under AFL++ (its libFuzzer-compatible driver), built and
# fuzzed for AFL_SECONDS each from the committed corpus: they must build,
# and AFL++ must save no crash.
afl_target() {
    local name=$1 corpus=$2 dict=$3 out=$B/afl-$1
    shift 3
    if ! AFL_QUIET=1 afl-clang-fast -g -O1 -fsanitize=fuzzer -I"$ROOT" "fuzz/$name.c" \
        -o "$B/$name-afl" "$@" > "$B/err" 2>&1; then
        fail "AFL++: $name builds"; tail -n 20 "$B/err"; return
    fi
    # (the target has no ASan: the runner's ASAN_OPTIONS would stop afl-fuzz)
    if env -u ASAN_OPTIONS AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        AFL_NO_UI=1 AFL_NO_AFFINITY=1 timeout $((AFL_SECONDS + 120)) afl-fuzz -V "$AFL_SECONDS" \
        -i "$corpus" -o "$out" -x "$dict" -- "$B/$name-afl" > "$B/afl.log" 2>&1 &&
        [ -f "$out/default/fuzzer_stats" ]; then
        local execs crashes
        execs=$(sed -n 's/^execs_done *: //p' "$out/default/fuzzer_stats")
        crashes=$(sed -n 's/^saved_crashes *: //p' "$out/default/fuzzer_stats")
        if [ "$crashes" = 0 ]; then
            pass "AFL++ $name for ${AFL_SECONDS}s: $execs executions, no crash"
        else
            fail "AFL++ $name saved $crashes crash(es)"; ls "$out/default/crashes"
        fi
    else
        fail "AFL++ $name runs"; tail -n 20 "$B/afl.log"
    fi
}
AFL_SECONDS=${AFL_SECONDS:-10}
afl_target fuzz_parser fuzz/corpus/parser fuzz/imap.dict
afl_target fuzz_cmd fuzz/corpus/cmd fuzz/imap.dict
afl_target fuzz_engine fuzz/corpus/engine "$B/engine.dict"
afl_target fuzz_sasl fuzz/corpus/sasl fuzz/sasl.dict -lbearssl
afl_target fuzz_tls fuzz/corpus/tls fuzz/tls.dict -lbearssl
afl_target fuzz_mime fuzz/corpus/mime fuzz/mime.dict

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
