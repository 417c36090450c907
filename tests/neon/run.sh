#!/usr/bin/env bash
# The parser's NEON scanners against the scalar ones, on an emulated
# Cortex-A53 (tests/neon/neon_check.c). Run by tests/run.sh; prints
# "ok|FAIL ..." and "N passed, N failed".
#
#   bash tests/neon/run.sh
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/clang:clang /usr/bin/ld.lld:lld \
    /usr/bin/qemu-system-aarch64:qemu-system-arm \
    /usr/include/newlib/string.h:libnewlib-dev
B=$(mktemp -d /tmp/imaph-neon.XXXXXX)
trap 'rm -rf "$B"' EXIT
PASSED=0
FAILED=0
# newlib's headers (the target has no libc of ours): declarations only
if clang --target=aarch64-none-elf -std=c99 -O2 -ffreestanding -fno-builtin \
    -Wall -Wextra -Werror -Wno-unused-function -isystem /usr/include/newlib \
    -I"$ROOT" -c tests/neon/neon_check.c -o "$B/n.o" 2> "$B/err" &&
    ld.lld -T tests/neon/a64.ld "$B/n.o" -o "$B/n.elf" 2>> "$B/err"; then
    out=$(timeout 120 qemu-system-aarch64 -M virt -cpu cortex-a53 -nographic -monitor none \
        -serial none -net none -nodefaults -semihosting-config enable=on,target=native \
        -kernel "$B/n.elf" 2>&1)
    rc=$?
    if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^simd check: neon' &&
        printf '%s\n' "$out" | grep -q '^ok:'; then
        PASSED=$((PASSED + 1)); echo "ok   NEON scanners agree with the scalar ones (AArch64, QEMU virt)"
    else
        FAILED=$((FAILED + 1)); echo "FAIL NEON scanners (exit $rc)"; printf '%s\n' "$out" | head -n 5
    fi
else
    FAILED=$((FAILED + 1)); echo "FAIL NEON check builds"; head -n 20 "$B/err"
fi
echo "$PASSED passed, $FAILED failed"
