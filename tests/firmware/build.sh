#!/usr/bin/env bash
# Firmware build: imap.h on a Cortex-M4 with no OS (arm-none-eabi-gcc,
# newlib-nano), run by tests/run.sh. Prints "ok|FAIL <check>" lines, the
# image sizes and stack depths, then "N passed, N failed".
#
#   bash tests/firmware/build.sh
#
# 1. imap.h's implementation alone compiles for the part with -std=c99 -Os
#    and warnings as errors, and IMAP_NO_POSIX came by itself (the target
#    is not Unix): no socket or subprocess code in the object.
# 2. That object needs no libc function beyond memcpy, memmove, memset,
#    memcmp, memchr and strlen (nm -u; libgcc's __aeabi_* helpers for
#    64-bit division are the compiler's, not libc's).
# 3. examples/embedded.c (-DNO_PRINTF: no stdio) links into an image
#    with --specs=nano.specs --specs=nosys.specs, a minimal start-up and
#    linker script (1 MiB flash, 128 KiB RAM); its .text, .data and .bss
#    are printed, and no heap or stdio is linked in.
# 4. Stack: from gcc's -fcallgraph-info=su, the deepest call chain of a
#    parse (imap_parser_feed) and of a client step (imap_client_poll, and
#    the sans-I/O imap_client_feed), plus the largest blocking call
#    (imap_authenticate), for imap.h's default limits and for those
#    examples/embedded.c sets. Calls through pointers (transport,
#    callbacks) add the caller's own frames on top. Recursion other than
#    the known bounded one fails, as does a frame of dynamic size.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/arm-none-eabi-gcc:gcc-arm-none-eabi \
    /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a:libnewlib-arm-none-eabi

B=$(mktemp -d /tmp/imaph-fw.XXXXXX)
trap 'rm -rf "$B"' EXIT
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

CC=arm-none-eabi-gcc
ARCH="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
CFLAGS="$ARCH -std=c99 -Os -ffunction-sections -fdata-sections -Wall -Wextra -Wpedantic -Werror"
LIBC_OK="memcpy memmove memset memcmp memchr strlen"

# ---- 1. imap.h alone ------------------------------------------------------
printf '#define IMAP_IMPLEMENTATION\n#include "imap.h"\n' > "$B/imap.c"
if $CC $CFLAGS -fstack-usage -fcallgraph-info=su -I"$ROOT" -c "$B/imap.c" -o "$B/imap.o" 2> "$B/err"; then
    pass "imap.h compiles for Cortex-M4: $CC -std=c99 -Os, warnings as errors"
    posix=$(arm-none-eabi-nm "$B/imap.o" | awk '$2 == "T" {print $3}' |
        grep -E '^imap_(tcp|stream)_' | tr '\n' ' ')
    if [ -z "$posix" ]; then
        pass "IMAP_NO_POSIX set itself on a non-Unix target (no socket/subprocess code)"
    else
        fail "POSIX transports compiled for bare metal: $posix"
    fi
    # ---- 2. libc needs ----------------------------------------------------
    need=$(arm-none-eabi-nm -u "$B/imap.o" | awk '{print $2}' | sort -u)
    libgcc=$(printf '%s\n' "$need" | grep -E '^__aeabi_' | tr '\n' ' ')
    extra=""
    for s in $(printf '%s\n' "$need" | grep -vE '^__aeabi_'); do
        case " $LIBC_OK " in *" $s "*) ;; *) extra="$extra $s" ;; esac
    done
    if [ -z "$extra" ]; then
        pass "imap.h needs from libc only: $(printf '%s\n' "$need" | grep -vE '^__aeabi_' | tr '\n' ' ')(libgcc: ${libgcc:-none})"
    else
        fail "imap.h needs libc functions beyond $LIBC_OK:$extra"
    fi
    printf '#include "imap.h"\nimap_client imaph_fw_imap_client;\nimap_parser imaph_fw_imap_parser;\n' > "$B/sizes.c"
    if $CC $ARCH -std=c99 -I"$ROOT" -c "$B/sizes.c" -o "$B/sizes.o" 2>/dev/null; then
        sizes=""
        while read -r _ hex _ name; do
            sizes="$sizes${name#imaph_fw_} $((16#$hex)) bytes, "
        done < <(arm-none-eabi-nm -S "$B/sizes.o")
        echo "note: sizeof on the part (default limits): ${sizes%, }"
    fi
    echo "note: imap.h object alone (-Os, every function): $(arm-none-eabi-size "$B/imap.o" | awk 'NR == 2 {print ".text " $1 ", .data " $2 ", .bss " $3}')"
else
    fail "imap.h compiles for Cortex-M4"
    head -n 20 "$B/err"
fi

# ---- 3. the firmware image -----------------------------------------------
SRC=examples/embedded.c
if $CC $CFLAGS -DNO_PRINTF -fstack-usage -fcallgraph-info=su -I"$ROOT" -c "$SRC" -o "$B/app.o" 2> "$B/err" &&
   $CC $ARCH -std=c99 -Os -Wall -Wextra -Werror -c tests/firmware/startup.c -o "$B/startup.o" 2>> "$B/err" &&
   $CC $ARCH --specs=nano.specs --specs=nosys.specs -nostartfiles \
       -T tests/firmware/link.ld -Wl,--gc-sections -Wl,-Map="$B/fw.map" \
       "$B/startup.o" "$B/app.o" -o "$B/fw.elf" 2>> "$B/err"; then
    pass "firmware image links: $SRC -DNO_PRINTF, nano.specs + nosys.specs, Cortex-M4"
    arm-none-eabi-size "$B/fw.elf" | awk 'NR == 2 {printf "note: firmware image: .text %d, .data %d, .bss %d bytes\n", $1, $2, $3}'
    bad=$(arm-none-eabi-nm "$B/fw.elf" | awk '{print $NF}' |
        grep -xE '(malloc|calloc|realloc|free|_malloc_r|_free_r|_sbrk|_sbrk_r|printf|puts|fputs|fwrite|sprintf|snprintf|_printf_r|_vfprintf_r)' | tr '\n' ' ')
    if [ -z "$bad" ]; then
        pass "no heap and no stdio linked into the image"
    else
        fail "image links heap or stdio: $bad"
    fi
else
    fail "firmware image links ($SRC)"
    head -n 30 "$B/err"
fi

# ---- 4. stack ------------------------------------------------------------
# imap__submit(_x) calls imap_capability, which re-enters it once to
# refresh stale capabilities (never for CAPABILITY itself): the one cycle
# allowed
stack_check() {
    local label=$1 ci=$2 cyc
    awk -v roots="imap_parser_feed imap_client_feed imap_client_poll imap_authenticate" \
        -f tests/firmware/stack.awk "$ci" > "$B/stack"
    sed "s|^|note: stack ($label): |" "$B/stack"
    # a client step when no AUTHENTICATE runs (LOGIN only): without the
    # SASL exchange's challenge and answer buffers
    awk -v roots="imap_client_poll" -v skip="imap__auth_step" -f tests/firmware/stack.awk "$ci" |
        sed -n "s|^imap_client_poll: \([0-9]*\) bytes.*|note: stack ($label): imap_client_poll without AUTHENTICATE: \1 bytes deepest|p"
    cyc=$(sed -n 's/^RECURSION through://p' "$B/stack" | tr ';' '\n' |
        grep -vxE '( (imap__submit|imap__submit_x|imap_capability))+' | tr '\n' ';')
    if grep -q MISSING "$B/stack"; then
        fail "stack ($label): a root function is missing from the call graph"
    elif grep -q '^DYNAMIC' "$B/stack"; then
        fail "stack ($label): frames of dynamic size: $(sed -n 's/^DYNAMIC frames://p' "$B/stack")"
    elif [ -n "$cyc" ]; then
        fail "stack ($label): recursion through $cyc"
    else
        pass "stack ($label): every frame of static size, no recursion but the bounded CAPABILITY refresh"
    fi
}
if [ -f "$B/imap.ci" ]; then
    stack_check "default limits" "$B/imap.ci"
    echo "note: largest frames (default limits): $(sort -t"$(printf '\t')" -k2 -n -r "$B/imap.su" | head -n 3 |
        awk -F'\t' '{n = $1; sub(/.*:/, "", n); printf "%s %s, ", n, $2}')"
else
    fail "stack: no call graph (-fcallgraph-info) for imap.h alone"
fi
if [ -f "$B/app.ci" ]; then
    stack_check "examples/embedded.c" "$B/app.ci"
else
    fail "stack: no call graph (-fcallgraph-info) for examples/embedded.c"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
