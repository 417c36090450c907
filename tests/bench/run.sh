#!/usr/bin/env bash
# Parser benchmark (issue 6): imap.h against libetpan, Python's imaplib, a
# byte-at-a-time scan and memchr, on four corpora shaped like Dovecot's
# answers. One command, on a fresh Debian machine:
#
#     bash tests/bench/run.sh            # full: 5 alternating runs each (~2 min on 2 cores)
#     QUICK=1 bash tests/bench/run.sh    # smoke test: corpora /10, 1 run (~40 s)
#
# It installs what it needs (gcc, libetpan-dev, python3, valgrind) when
# missing, generates the corpora (deterministic: their SHA-256 are printed),
# builds the harnesses (-O2), runs them alternately (A B C D E A B C D E ...),
# counts instructions per input byte with callgrind (repeatable on a noisy
# machine), and prints the tables (report.py). Environment:
#   QUICK=1            smaller corpora (scale 0.1), 1 run, short passes
#   RUNS=N             runs per parser and corpus (default 5; QUICK 1)
#   MIN_TIME=S         seconds of passes per run (default 0.5; QUICK 0.2)
#   BENCH_DIR=DIR      work directory (default /tmp/imaph-bench); corpora
#                      are kept there and rebuilt when gen.py changes
#   SKIP_CALLGRIND=1   no instruction counts or profile
#   SKIP_M4=1          no Cortex-M4 figures (tests/bench/m4.sh, QEMU)
#   E2E=1              also tests/bench/e2e.sh against a private Dovecot
#                      (client CPU per MB, parser high-water on real mail)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/bench

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    SCALE=0.1; RUNS=${RUNS:-1}; MIN_TIME=${MIN_TIME:-0.2}; CG_SCALE=0.02
else
    SCALE=1; RUNS=${RUNS:-5}; MIN_TIME=${MIN_TIME:-0.5}; CG_SCALE=0.1
fi
BENCH_DIR=${BENCH_DIR:-/tmp/imaph-bench}
SKIP_CALLGRIND=${SKIP_CALLGRIND:-0}
PY=/usr/bin/python3
t_start=$(date +%s)
export PYTHONHASHSEED=0          # same interpreter work on every run

say() { printf '%s\n' "$*" >&2; }

# ---- 1. packages -------------------------------------------------------------
need=""
[ -x /usr/bin/gcc ] || need="$need gcc libc6-dev"
[ -e /usr/include/libetpan/libetpan.h ] || need="$need libetpan-dev"
[ -x /usr/bin/python3 ] || need="$need python3"
[ -x /usr/bin/valgrind ] || need="$need valgrind"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || { say "need root to install:$need"; exit 1; }
    say "installing:$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

mkdir -p "$BENCH_DIR/bin"
RESULTS=$BENCH_DIR/results.txt
: > "$RESULTS"

# ---- 2. corpora -----------------------------------------------------------------
gen_corpora() {     # DIR SCALE
    local dir=$1 scale=$2 stamp
    stamp="$(sha256sum "$HERE/gen.py" | cut -c1-16) $scale"
    if [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
        say "generating corpora (scale $scale) in $dir"
        rm -rf "$dir"
        $PY "$HERE/gen.py" "$dir" --scale "$scale" > "$dir.manifest.tmp"
        mv "$dir.manifest.tmp" "$dir/MANIFEST"
        echo "$stamp" > "$dir/.stamp"
    fi
}
CORP=$BENCH_DIR/corpus-$SCALE
CGCORP=$BENCH_DIR/corpus-$CG_SCALE
gen_corpora "$CORP" "$SCALE"
[ "$SKIP_CALLGRIND" = 1 ] || gen_corpora "$CGCORP" "$CG_SCALE"

# ---- 3. build -------------------------------------------------------------------
# -O2 for everything; -g only adds line tables for the profile (same code).
CFLAGS="-O2 -g -Wall -Wextra"
gcc $CFLAGS -I"$ROOT" "$HERE/bench_imaph.c" -o "$BENCH_DIR/bin/bench_imaph"
gcc $CFLAGS "$HERE/bench_etpan.c" -o "$BENCH_DIR/bin/bench_etpan" -letpan
IMAPH=$BENCH_DIR/bin/bench_imaph
ETPAN=$BENCH_DIR/bin/bench_etpan

# arena for imap.h per corpus (the SEARCH line needs far more: see report)
arena_for() {
    case $1 in
        bodies) echo 128K ;;          # literals up to the 64 KiB sink threshold stay in it
        search|sort|esearch|vanished) echo 64M ;;
        *) echo 64K ;;
    esac
}

run_one() {     # PARSER CORPUS-NAME CORPUS-DIR ROUND [extra args]
    local parser=$1 name=$2 dir=$3 round=$4 line
    shift 4
    local f=$dir/$name.imap
    case $parser in
        imaph) line=$("$IMAPH" --parser imaph --corpus "$f" --name "$name" --arena "$(arena_for "$name")" --min-time "$MIN_TIME" "$@") ;;
        imaph-touch) line=$("$IMAPH" --parser imaph --corpus "$f" --name "$name" --arena "$(arena_for "$name")" --min-time "$MIN_TIME" --touch 1 "$@" | sed 's/parser=imaph/parser=imaph-touch/') ;;
        bytescan|memchr) line=$("$IMAPH" --parser "$parser" --corpus "$f" --name "$name" --min-time "$MIN_TIME" "$@") ;;
        libetpan) line=$("$ETPAN" --corpus "$f" --name "$name" --min-time "$MIN_TIME" "$@") ;;
        libetpan-kept) line=$("$ETPAN" --corpus "$f" --name "$name" --min-time "$MIN_TIME" --kept 1 "$@") ;;
        imaplib) line=$($PY "$HERE/bench_imaplib.py" --corpus "$f" --name "$name" --min-time "$MIN_TIME" "$@") ;;
        imaplib-stock) line=$($PY "$HERE/bench_imaplib.py" --corpus "$f" --name "$name" --stock "$@") ;;
    esac
    echo "$line round=$round" >> "$RESULTS"
}

# ---- 4. timed runs, alternating -----------------------------------------------------
CORPORA="fetchmeta bodies liststatus search"
for round in $(seq 1 "$RUNS"); do
    say "round $round/$RUNS"
    for c in $CORPORA; do
        for p in imaph libetpan imaplib bytescan memchr; do
            run_one "$p" "$c" "$CORP" "$round"
            # libetpan without its streaming handlers, as mailimap_fetch uses it
            if [ "$p" = libetpan ] && [ "$c" != liststatus ] && [ "$c" != search ]; then
                run_one libetpan-kept "$c" "$CORP" "$round"
            fi
            # bodies read once each by the sink, as a real consumer must
            [ "$p" = imaph ] && [ "$c" = bodies ] && run_one imaph-touch "$c" "$CORP" "$round"
        done
    done
done

# ---- 5. arena figures for the big single-line responses ---------------------------
say "arena figures"
for c in search sort esearch vanished; do
    run_one imaph "$c" "$CORP" arena64M --passes 1
    "$IMAPH" --parser imaph --corpus "$CORP/$c.imap" --name "$c" --arena 64K --passes 1 |
        sed 's/$/ round=arena64K/' >> "$RESULTS"
done
run_one imaplib-stock search "$CORP" stock --passes 1

# ---- 6. instructions per byte (callgrind) and the profile ---------------------------
CG=$BENCH_DIR/callgrind
rm -rf "$CG"
mkdir -p "$CG"
if [ "$SKIP_CALLGRIND" != 1 ]; then
    say "callgrind (corpora at scale $CG_SCALE)"
    cg() {      # OUTNAME CMD...
        local out=$1
        shift
        valgrind --tool=callgrind --callgrind-out-file="$CG/$out" "$@" > /dev/null 2> "$CG/$out.log"
        sed -n 's/^summary: //p' "$CG/$out"
    }
    for c in $CORPORA; do
        f=$CGCORP/$c.imap
        bytes=$(stat -c %s "$f")
        ir=$(cg "imaph.$c" --toggle-collect='pass_*' "$IMAPH" --parser imaph --corpus "$f" --arena "$(arena_for "$c")" --passes 1 --warmup 0)
        echo "cg parser=imaph corpus=$c bytes=$bytes ir=$ir" >> "$RESULTS"
        for p in bytescan memchr; do
            ir=$(cg "$p.$c" --toggle-collect='pass_*' "$IMAPH" --parser "$p" --corpus "$f" --passes 1 --warmup 0)
            echo "cg parser=$p corpus=$c bytes=$bytes ir=$ir" >> "$RESULTS"
        done
        for k in 0 1; do
            [ $k = 1 ] && { [ "$c" = liststatus ] || [ "$c" = search ]; } && continue
            p=libetpan
            [ $k = 1 ] && p=libetpan-kept
            ir=$(cg "$p.$c" --toggle-collect='pass_*' "$ETPAN" --corpus "$f" --passes 1 --warmup 0 --kept $k)
            echo "cg parser=$p corpus=$c bytes=$bytes ir=$ir" >> "$RESULTS"
        done
        # imaplib: one pass minus a run that loads everything and parses nothing
        ir1=$(cg "imaplib.$c" $PY "$HERE/bench_imaplib.py" --corpus "$f" --passes 1 --warmup 0)
        ir0=$(cg "imaplib-dry.$c" $PY "$HERE/bench_imaplib.py" --corpus "$f" --dry)
        echo "cg parser=imaplib corpus=$c bytes=$bytes ir=$((ir1 - ir0))" >> "$RESULTS"
    done
fi

# ---- 6b. issue 17: the engine per read, Cortex-M4 (QEMU) and, with E2E=1, Dovecot ------
if [ "$SKIP_CALLGRIND" != 1 ]; then
    for np in 32 4; do
        gcc $CFLAGS -DIMAP_MAX_PENDING=$np -I"$ROOT" "$HERE/engine_read.c" -o "$BENCH_DIR/bin/engine_read$np"
        ir=$(cg "engine_read$np" --toggle-collect=feed_one "$BENCH_DIR/bin/engine_read$np" 10000)
        echo "engine arch=x86-64 slots=$np ipr=$((ir / 10001))" >> "$RESULTS"
    done
fi
if [ "${SKIP_M4:-0}" != 1 ]; then
    say "Cortex-M4 under QEMU (tests/bench/m4.sh)"
    BENCH_DIR=$BENCH_DIR bash "$HERE/m4.sh" > "$BENCH_DIR/m4.txt" 2>&1 || true
    sed -n 's/^figure: m4 \(-O[s2]\) \(parse only\|parse+decode\) .* = \([0-9.]*\) instr\/B.*/m4 opt=\1 kind=\2 ipb=\3/p' "$BENCH_DIR/m4.txt" |
        sed 's/kind=parse only/kind=parse/; s/kind=parse+decode/kind=decode/' >> "$RESULTS"
    sed -n 's/^figure: m4 -Os.* engine \([0-9]*\) instructions per read (IMAP_MAX_PENDING \([0-9]*\).*/engine arch=m4 slots=\2 ipr=\1/p' "$BENCH_DIR/m4.txt" >> "$RESULTS"
fi
if [ "${E2E:-0}" = 1 ]; then
    say "end to end against Dovecot (tests/bench/e2e.sh)"
    bash "$HERE/e2e.sh" 2> /dev/null | tee "$BENCH_DIR/e2e.txt" | sed -n 's/^figure: e2e /e2e /p' >> "$RESULTS" || true
fi

# perf, when this machine exposes hardware counters (VMs often do not)
PERF_NOTE="perf: not installed"
if command -v perf >/dev/null 2>&1; then
    if perf stat -e instructions true 2>&1 | grep -q 'not supported\|not counted\|Permission\|Error'; then
        PERF_NOTE="perf: hardware counters not available here (perf stat -e instructions: not supported); profile from callgrind"
    else
        PERF_NOTE="perf stat, imap.h on fetchmeta: $(perf stat -x, -e instructions,cycles "$IMAPH" --parser imaph --corpus "$CORP/fetchmeta.imap" --arena 64K --passes 20 2>&1 >/dev/null | cut -d, -f1,3 | tr '\n' ' ')"
    fi
fi

elapsed=$(( $(date +%s) - t_start ))
# ---- 7. report --------------------------------------------------------------------------
{
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
    echo "gcc: $(gcc --version | head -n 1); libetpan-dev $(dpkg-query -W -f '${Version}' libetpan-dev 2>/dev/null || echo '?'); python $($PY -c 'import sys; print(sys.version.split()[0])'); $(valgrind --version)"
    echo "$PERF_NOTE"
    echo "command: $([ "$QUICK" = 1 ] && echo 'QUICK=1 ')bash tests/bench/run.sh   (RUNS=$RUNS, MIN_TIME=$MIN_TIME s, corpora at scale $SCALE, callgrind at scale $CG_SCALE; the whole command took ${elapsed}s)"
} > "$BENCH_DIR/machine.txt"
$PY "$HERE/report.py" --results "$RESULTS" --manifest "$CORP/MANIFEST" \
    --machine "$BENCH_DIR/machine.txt" --callgrind-dir "$CG" --imaph-source "$ROOT/imap.h"
