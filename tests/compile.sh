#!/usr/bin/env bash
# The compile matrix: imap.h built under every compiler, language mode,
# optimisation level and feature combination, warnings as errors.
#
#   bash tests/compile.sh        prints "ok|FAIL <build>" per build, then
#                                "N passed, N failed"
#
# Compilers and modes: gcc and clang with -std=c99 and -std=c11, g++ with
# -std=c++11 and -std=c++17, clang++ with -std=c++17; each at -O0 (front
# end only: -fsyntax-only), and each compiler at -O2 too, compiled (the
# optimiser's warnings, such as -Wmaybe-uninitialized, only show there),
# in one mode per language: -std=c99 and -std=c++17. Every build uses
# -Wall -Wextra -Wpedantic -Werror; clang and clang++ add -Wconversion
# -Wshadow. Feature sets: none, IMAP_NO_POSIX, IMAP_WITH_BEARSSL,
# IMAP_WITH_ZLIB, IMAP_STATIC, all of them together, and all but
# IMAP_NO_POSIX (what a desktop program would use); IMAP_NO_MIME, and
# IMAP_NO_CHARSETS without POSIX (firmware).
#
# The translation unit includes imap.h for its declarations, then defines
# IMAP_IMPLEMENTATION and includes it twice more (the second must be a
# no-op), and calls one function: under IMAP_STATIC every other function
# is unused, which must not warn. Builds run two at a time (xargs -P).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/gcc:gcc /usr/bin/g++:g++ /usr/bin/clang:clang \
    /usr/include/bearssl.h:libbearssl-dev /usr/include/zlib.h:zlib1g-dev

T=$(mktemp -d /tmp/imaph-compile.XXXXXX)
trap 'rm -rf "$T"' EXIT

cat > "$T/tu.c" <<'EOF'
#include "imap.h"
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "imap.h"

int imaph_compile_probe(void);
int imaph_compile_probe(void)
{
    return imap_result_name(IMAP_OK)[0];
}
EOF

WARN="-Wall -Wextra -Wpedantic -Werror"
CLANGW="-Wconversion -Wshadow"
FEATURES="none
IMAP_NO_POSIX
IMAP_WITH_BEARSSL
IMAP_WITH_ZLIB
IMAP_STATIC
IMAP_WITH_BEARSSL,IMAP_WITH_ZLIB,IMAP_STATIC
IMAP_NO_POSIX,IMAP_WITH_BEARSSL,IMAP_WITH_ZLIB,IMAP_STATIC
IMAP_NO_MIME
IMAP_NO_POSIX,IMAP_NO_CHARSETS"

# One build per line: label<TAB>command
{
    for cc in "gcc -std=c99" "gcc -std=c11" "clang -std=c99 $CLANGW" "clang -std=c11 $CLANGW" \
              "g++ -x c++ -std=c++11" "g++ -x c++ -std=c++17" "clang++ -x c++ -std=c++17 $CLANGW"; do
        case $cc in *c99*|*c++17*) opts="-O0 -O2" ;; *) opts=-O0 ;; esac
        for opt in $opts; do
            while IFS= read -r feat; do
                defs=""
                [ "$feat" = none ] || defs=$(printf ' -D%s' ${feat//,/ })
                if [ "$opt" = -O0 ]; then out="-fsyntax-only"; else out="-c -o /dev/null"; fi
                label="$cc $opt${defs:- (no options)}"
                printf '%s\t%s %s %s%s -I%s %s %s\n' "$label" "$cc" "$opt" "$WARN" "$defs" \
                    "$ROOT" "$T/tu.c" "$out"
            done <<< "$FEATURES"
        done
    done
} > "$T/builds"

# Run one build line; print its verdict (and its first errors).
one() {
    local label=${1%%	*} cmd=${1#*	} err
    if err=$(eval "$cmd" 2>&1); then
        echo "ok   $label"
    else
        echo "FAIL $label"
        printf '%s\n' "$err" | grep -E 'error|warning' | head -n 5 | sed 's/^/    /'
    fi
}
export -f one

start=$(date +%s)
tr '\n' '\0' < "$T/builds" | xargs -0 -P2 -I{} bash -c 'one "$1"' _ {} > "$T/out"
took=$(( $(date +%s) - start ))
cat "$T/out"
p=$(grep -c '^ok ' "$T/out")
f=$(grep -c '^FAIL ' "$T/out")
echo "note: $((p + f)) builds in ${took}s"
echo "$p passed, $f failed"
[ "$f" = 0 ]
