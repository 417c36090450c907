#!/usr/bin/env bash
# Instructions per byte of imap.h's parser on a Cortex-M4 (issue 17), the
# M4 row of tests/bench/run.sh: tests/bench/m4/m4bench.c on QEMU's
# mps2-an386 with -icount (see its header), FETCH metadata from gen.py
# (scale 0.02, ~400 KB) linked into the image. Prints "figure: ..." lines.
#
#   bash tests/bench/m4.sh [corpus.imap]     (~20 s; BENCH_DIR as run.sh)
#
# Builds -Os (the firmware setting) and -O2. Needs gcc-arm-none-eabi,
# libnewlib-arm-none-eabi and qemu-system-arm (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/bench
BENCH_DIR=${BENCH_DIR:-/tmp/imaph-bench}
. tests/server/common.sh
imaph_ensure_pkgs /usr/bin/arm-none-eabi-gcc:gcc-arm-none-eabi \
    /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a:libnewlib-arm-none-eabi \
    /usr/bin/qemu-system-arm:qemu-system-arm
W=$BENCH_DIR/m4
mkdir -p "$W"
corpus=${1:-}
if [ -z "$corpus" ]; then
    corpus=$BENCH_DIR/corpus-0.02/fetchmeta.imap
    [ -f "$corpus" ] || /usr/bin/python3 "$HERE/gen.py" "$BENCH_DIR/corpus-0.02" --scale 0.02 > /dev/null
fi
cp "$corpus" "$W/corpus.bin"
(cd "$W" && arm-none-eabi-objcopy -I binary -O elf32-littlearm -B arm \
    --rename-section .data=.rodata,alloc,load,readonly,data,contents corpus.bin corpus.o)
ARCH="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
for opt in -Os -O2; do
    arm-none-eabi-gcc $ARCH -std=c99 $opt -ffunction-sections -fdata-sections \
        -Wall -Wextra -DM4_LABEL="\"$opt\"" -I"$ROOT" "$HERE/m4/m4bench.c" "$W/corpus.o" \
        -nostartfiles --specs=nano.specs --specs=nosys.specs -T "$HERE/m4/m4.ld" \
        -Wl,--gc-sections -o "$W/m4bench$opt.elf"
    timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -icount shift=7 -semihosting-config enable=on,target=native \
        -kernel "$W/m4bench$opt.elf" || echo "m4bench$opt exited $?"
done
