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
# 3. examples/embedded.c (tests/firmware/main.c until it exists) links
#    into an image with --specs=nano.specs --specs=nosys.specs, a minimal
#    start-up and linker script (1 MiB flash, 128 KiB RAM); its .text,
#    .data and .bss are printed, and no heap or stdio is linked in.
# 4. Stack: from gcc's -fcallgraph-info=su, the deepest call chain of a
#    parse (imap_parser_feed) and of a client step (imap_client_poll, and
#    the sans-I/O imap_client_feed), plus the largest blocking call
#    (imap_authenticate). Calls through pointers (transport, callbacks)
#    add the caller's own frames on top. Recursion other than the known
#    bounded one fails, as does a frame of dynamic size.
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
if [ -f examples/embedded.c ]; then
    SRC=examples/embedded.c
else
    SRC=tests/firmware/main.c
    echo "note: examples/embedded.c not here yet: linking the stand-in $SRC"
fi
if $CC $CFLAGS -I"$ROOT" -c "$SRC" -o "$B/app.o" 2> "$B/err" &&
   $CC $ARCH -std=c99 -Os -Wall -Wextra -Werror -c tests/firmware/startup.c -o "$B/startup.o" 2>> "$B/err" &&
   $CC $ARCH --specs=nano.specs --specs=nosys.specs -nostartfiles \
       -T tests/firmware/link.ld -Wl,--gc-sections -Wl,-Map="$B/fw.map" \
       "$B/startup.o" "$B/app.o" -o "$B/fw.elf" 2>> "$B/err"; then
    pass "firmware image links: $SRC, nano.specs + nosys.specs, Cortex-M4"
    arm-none-eabi-size "$B/fw.elf" | awk 'NR == 2 {printf "note: firmware image: .text %d, .data %d, .bss %d bytes\n", $1, $2, $3}'
    bad=$(arm-none-eabi-nm "$B/fw.elf" | awk '{print $NF}' |
        grep -xE '(malloc|calloc|realloc|free|_malloc_r|_free_r|_sbrk|_sbrk_r|printf|puts|fputs|fwrite|sprintf|snprintf|_printf_r|_vfprintf_r)' | tr '\n' ' ')
    if [ -z "$bad" ]; then
        pass "no heap and no stdio linked into the image"
    else
        fail "image links heap or stdio: $bad"
    fi
    if [ "$SRC" = tests/firmware/main.c ]; then
        # the stand-in's fake server and client agree: run it on the host
        if gcc -std=c99 -Wall -Wextra -Werror -I"$ROOT" "$SRC" -o "$B/host" 2> "$B/err" && "$B/host"; then
            pass "the stand-in program's session succeeds when run on the host"
        else
            fail "the stand-in program's session fails on the host (exit $?)"
            head -n 20 "$B/err"
        fi
    fi
else
    fail "firmware image links ($SRC)"
    head -n 30 "$B/err"
fi

# ---- 4. stack ------------------------------------------------------------
ci=$(ls "$B"/*.ci 2>/dev/null | head -n 1)
if [ -n "$ci" ]; then
    awk -v roots="imap_parser_feed imap_client_feed imap_client_poll imap_authenticate" \
        -f tests/firmware/stack.awk "$ci" > "$B/stack"
    sed 's/^/note: stack: /' "$B/stack"
    # imap__submit calls imap_capability, which re-enters imap__submit
    # once to refresh stale capabilities (never for CAPABILITY itself)
    cyc=$(sed -n 's/^RECURSION through://p' "$B/stack" | tr ';' '\n' |
        grep -vxE '( (imap__submit|imap_capability))+' | tr '\n' ';')
    if grep -q MISSING "$B/stack"; then
        fail "stack: a root function is missing from the call graph"
    elif grep -q '^DYNAMIC' "$B/stack"; then
        fail "stack: frames of dynamic size: $(sed -n 's/^DYNAMIC frames://p' "$B/stack")"
    elif [ -n "$cyc" ]; then
        fail "stack: recursion through $cyc"
    else
        pass "stack: every frame of static size, no recursion but the bounded CAPABILITY refresh"
    fi
    echo "note: largest frames: $(sort -t"$(printf '\t')" -k2 -n -r "$B"/*.su | head -n 3 |
        awk -F'\t' '{n = $1; sub(/.*:/, "", n); printf "%s %s, ", n, $2}')"
else
    fail "stack: no call graph (-fcallgraph-info) was written"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
