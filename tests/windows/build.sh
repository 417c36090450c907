#!/usr/bin/env bash
# Windows: imap.h cross-compiled with mingw-w64 (x86_64) and the tests run
# under wine. Run by tests/run.sh. Prints "ok|FAIL <check>" lines, then
# "N passed, N failed".
#
#   bash tests/windows/build.sh [ENV]
#
# 1. imap.h compiles for Windows with x86_64-w64-mingw32-gcc -std=c99
#    (-O2) and -std=c11 (-O0), and -g++ -std=c++11 (-O0) and -std=c++17
#    (-O2), with -Wall -Wextra -Wpedantic -Werror -Wconversion -Wshadow:
#    the Winsock TCP transport (8f) on, with IMAP_NO_WINSOCK, and with
#    IMAP_STATIC.
# 2. The unit tests (tests/test_parser.c, test_cmd.c, test_engine.c) and
#    the Winsock transport's own (tests/windows/test_winsock.c: loopback
#    sockets, and a whole client session against a server thread) build
#    as .exe files and run under wine; their checks are counted here.
# 3. With ENV (a tests/server/*.sh env file), tests/it_dovecot.c built for
#    Windows runs under wine against that server over the Winsock
#    transport (wine's Winsock is the host's sockets).
# Where wine cannot be installed, the .exe files are built but not run
# (said in a note; the build checks still count).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ENVFILE=${1:-}
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 \
    /usr/bin/x86_64-w64-mingw32-g++:g++-mingw-w64-x86-64

B=$(mktemp -d /tmp/imaph-win.XXXXXX)
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

WINE=/usr/lib/wine/wine64
if ! ( imaph_ensure_pkgs "$WINE:wine64" ) > "$B/wine-install.log" 2>&1; then
    echo "note: wine64 could not be installed; the .exe files are built, not run:"
    tail -n 3 "$B/wine-install.log" | sed 's/^/note:   /'
    WINE=""
fi
# A wine prefix of our own, made once (about 6 s) and kept.
export WINEPREFIX=${IMAPH_WINEPREFIX:-/tmp/imaph-wineprefix} WINEDEBUG=-all
cleanup() {
    # our prefix's wineserver (and the services it started) only
    [ -z "$WINE" ] || /usr/lib/wine/wineserver -k > /dev/null 2>&1
    rm -rf "$B"
}
trap cleanup EXIT

MINGW=x86_64-w64-mingw32
WARN="-Wall -Wextra -Wpedantic -Werror"

# ---- 1. imap.h for Windows ----------------------------------------------
printf '#include "imap.h"\n#define IMAP_IMPLEMENTATION\n#include "imap.h"\nint imaph_probe(void);\nint imaph_probe(void) { return imap_result_name(0)[0]; }\n' > "$B/tu.c"
for cc in "$MINGW-gcc -std=c99 -O2" "$MINGW-gcc -std=c11 -O0" \
          "$MINGW-g++ -x c++ -std=c++11 -O0" "$MINGW-g++ -x c++ -std=c++17 -O2"; do
    # -O2 compiles (the optimiser's warnings); -O0 needs the front end only
    case $cc in *-O2) out="-c -o $B/tu.o" ;; *) out=-fsyntax-only ;; esac
    for defs in "" "-DIMAP_NO_WINSOCK" "-DIMAP_STATIC"; do
        if $cc $WARN -Wconversion -Wshadow $defs -I"$ROOT" "$B/tu.c" $out 2> "$B/err"; then
            pass "windows: $cc -Wconversion -Wshadow ${defs:-(Winsock on)}"
        else
            fail "windows: $cc ${defs:-(Winsock on)}"
            head -n 10 "$B/err"
        fi
    done
done
# the Winsock transport is really in (and gone with IMAP_NO_WINSOCK)
$MINGW-gcc -std=c99 -I"$ROOT" -c "$B/tu.c" -o "$B/on.o" 2>/dev/null
$MINGW-gcc -std=c99 -DIMAP_NO_WINSOCK -I"$ROOT" -c "$B/tu.c" -o "$B/off.o" 2>/dev/null
if $MINGW-nm "$B/on.o" 2>/dev/null | grep -q ' T imap_tcp_connect$' &&
   ! $MINGW-nm "$B/off.o" 2>/dev/null | grep -q 'imap_tcp_connect'; then
    pass "windows: imap_tcp_connect is the Winsock one; IMAP_NO_WINSOCK leaves it out"
else
    fail "windows: imap_tcp_connect present with Winsock, absent without"
fi

# ---- 2. tests as .exe, under wine --------------------------------------
# Run an exe under wine (with the variables of an env file, if given); add
# the counts of its "N passed, N failed" line.
# Output goes to a file, not a pipe: wine's helper processes keep the
# descriptors they inherit open for seconds after the program ends.
run_exe() {
    local name=$1 exe=$2 env=${3:-} p f rc
    if [ -n "$env" ]; then
        ( . "$env" && exec "$WINE" "$exe" ) > "$B/$name.out" 2>&1
    else
        "$WINE" "$exe" > "$B/$name.out" 2>&1
    fi
    rc=$?
    sed -i 's/\r$//' "$B/$name.out"              # Windows text mode: CRLF
    grep -v '^ok ' "$B/$name.out" | sed -e '/^[0-9]* passed, [0-9]* failed$/d' -e "s|^|[$name] |"
    p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$B/$name.out" | tail -n 1)
    f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$B/$name.out" | tail -n 1)
    if [ -z "$p" ]; then
        fail "$name under wine: no summary line (exit $rc)"
        return
    fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then fail "$name under wine: exit $rc"; fi
    echo "---- $name (wine): $p passed, $f failed"
}

if [ -n "$WINE" ] && [ ! -d "$WINEPREFIX" ]; then
    # first use: make the prefix once, under a lock (parallel runs)
    ( flock -w 120 9; [ -d "$WINEPREFIX" ] || "$WINE" cmd /c exit > /dev/null 2>&1 ) 9>> /tmp/.imaph-wine.lock
fi
for t in tests/test_parser.c tests/test_cmd.c tests/test_engine.c tests/windows/test_winsock.c; do
    name=$(basename "$t" .c)
    if $MINGW-gcc -std=c99 $WARN -O1 -g -I"$ROOT" "$t" -o "$B/$name.exe" -lws2_32 2> "$B/err"; then
        pass "windows: $name.exe builds"
        [ -z "$WINE" ] || run_exe "$name" "$B/$name.exe"
    else
        fail "windows: $name.exe builds"
        head -n 10 "$B/err"
    fi
done

# ---- 3. a real server over Winsock ---------------------------------------
if [ -n "$ENVFILE" ]; then
    if $MINGW-gcc -std=c99 $WARN -O1 -g -I"$ROOT" tests/it_dovecot.c -o "$B/it_dovecot.exe" -lws2_32 2> "$B/err"; then
        pass "windows: it_dovecot.exe builds"
        [ -z "$WINE" ] || run_exe it_dovecot-wine "$B/it_dovecot.exe" "$ENVFILE"
    else
        fail "windows: it_dovecot.exe builds"
        head -n 10 "$B/err"
    fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
