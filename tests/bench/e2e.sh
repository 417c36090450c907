#!/usr/bin/env bash
# End-to-end benchmark (issue 6): imap.h, Python's imaplib, libetpan and a
# raw byte dump, each fetching the same mail from a private Dovecot over
# TCP on 127.0.0.1. One command (root, Debian 12; ~1-2 minutes):
#
#     bash tests/bench/e2e.sh
#
# It starts Dovecot in a temp dir (tests/server/dovecot.sh), writes 10,000
# small realistic messages into alice's INBOX and 1,000 messages of ~100 KB
# (~100 MB) into the folder "Big", straight into the Maildirs' cur/ (no
# APPEND), warms Dovecot's index and cache with two untimed passes, then
# runs every client RUNS times, alternating, and prints the median wall
# time and client CPU time (getrusage user+sys, FETCH phase only) of:
#   meta:   UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)
#   bodies: UID FETCH 1:* (UID BODY.PEEK[]) over the ~100 MB
# Clients: e2e_imaph.c (pipelined: INFLIGHT ranges sent at once, and one
# command), e2e_etpan.c (mailimap_uid_fetch), e2e_imaplib.py (one
# uid('FETCH')), e2e_raw.c (reads until the tagged line, parses nothing).
# Environment: RUNS (default 3), INFLIGHT (default 20), E2E_DIR (keep the
# server dir there instead of a temp dir; it is stopped either way).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/bench
RUNS=${RUNS:-3}
INFLIGHT=${INFLIGHT:-20}
PY=/usr/bin/python3
t_start=$(date +%s)
say() { printf '%s\n' "$*" >&2; }

need=""
[ -x /usr/bin/gcc ] || need="$need gcc libc6-dev"
[ -e /usr/include/libetpan/libetpan.h ] || need="$need libetpan-dev"
[ -x /usr/bin/python3 ] || need="$need python3"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || { say "need root to install:$need"; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

WORK=$(mktemp -d /tmp/imaph-e2e-XXXX)
chmod 755 "$WORK"      # Dovecot's uid 65534 must reach the server dir
SRV=${E2E_DIR:-$WORK/srv}
cleanup() {
    bash "$ROOT/tests/server/dovecot.sh" stop "$SRV" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin"
for c in imaph raw etpan; do
    gcc -O2 -Wall -Wextra -Wno-unused-function -I"$ROOT" "$HERE/e2e_$c.c" \
        -o "$WORK/bin/e2e_$c" -letpan
done

say "starting Dovecot in $SRV"
bash "$ROOT/tests/server/dovecot.sh" start "$SRV"
. "$SRV/env"
MD=$SRV/home/$IMAP_TEST_USER/Maildir
say "writing the mailboxes"
GEN_SMALL=$($PY "$HERE/e2e_mkmail.py" "$MD" small 10000)
GEN_BIG=$($PY "$HERE/e2e_mkmail.py" "$MD/.Big" big 1000)
chown -R 65534:65534 "$MD"
A=("$IMAP_TEST_HOST" "$IMAP_TEST_PORT" "$IMAP_TEST_USER" "$IMAP_TEST_PASS")

RES=$WORK/results.txt
: > "$RES"
run() {     # CLIENT TEST
    local box=INBOX line
    [ "$2" = bodies ] && box=Big
    case $1 in
        imaph-pipelined) line=$("$WORK/bin/e2e_imaph" "${A[@]}" "$box" "$2" "$INFLIGHT") ;;
        imaph-1cmd) line=$("$WORK/bin/e2e_imaph" "${A[@]}" "$box" "$2" 1) ;;
        libetpan) line=$("$WORK/bin/e2e_etpan" "${A[@]}" "$box" "$2") ;;
        imaplib) line=$($PY "$HERE/e2e_imaplib.py" "${A[@]}" "$box" "$2") ;;
        raw) line=$("$WORK/bin/e2e_raw" "${A[@]}" "$box" "$2") ;;
    esac
    echo "$line" >> "$RES"
}

# Dovecot indexes the new mail and fills its cache on the first FETCHes.
say "warming up"
for _ in 1 2; do
    "$WORK/bin/e2e_raw" "${A[@]}" INBOX meta > /dev/null
    "$WORK/bin/e2e_raw" "${A[@]}" Big bodies > /dev/null
done
CLIENTS="imaph-pipelined imaph-1cmd libetpan imaplib raw"
for round in $(seq 1 "$RUNS"); do
    say "round $round/$RUNS"
    for t in meta bodies; do
        for c in $CLIENTS; do run "$c" "$t"; done
    done
done
elapsed=$(( $(date +%s) - t_start ))

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
echo "server: $(dovecot --version | head -n 1) on 127.0.0.1 (same machine); gcc $(gcc -dumpversion) -O2; libetpan-dev $(dpkg-query -W -f '${Version}' libetpan-dev 2>/dev/null || echo '?'); python $($PY -c 'import sys; print(sys.version.split()[0])')"
echo "mail: INBOX: $GEN_SMALL; Big: $GEN_BIG"
echo "command: bash tests/bench/e2e.sh   (RUNS=$RUNS, INFLIGHT=$INFLIGHT; the whole command took ${elapsed}s)"
$PY - "$RES" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    rows.setdefault((kv["test"], kv["client"]), []).append(kv)
order = ["imaph-pipelined", "imaph-1cmd", "libetpan", "imaplib", "raw"]
names = {"imaph-pipelined": "imap.h, pipelined", "imaph-1cmd": "imap.h, one command",
         "libetpan": "libetpan", "imaplib": "Python imaplib", "raw": "raw byte dump (limit)"}
for test, title in (("meta", "UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE), 10,000 messages"),
                    ("bodies", "UID FETCH 1:* (UID BODY.PEEK[]), 1,000 messages of ~100 KB")):
    print()
    print(title)
    raw = rows.get((test, "raw"), [{}])[0]
    print("  bytes from the server: %s" % raw.get("bytes", "?"))
    print("  %-24s %9s %9s %9s %10s %9s" % ("client", "wall s", "cpu s", "cpu/raw", "MB/s wall", "msgs"))
    rcpu = statistics.median(float(r["cpu"]) for r in rows.get((test, "raw"), [{"cpu": "nan"}]))
    mb = float(raw.get("bytes", "nan")) / 1e6
    for c in order:
        rs = rows.get((test, c))
        if not rs:
            continue
        w = statistics.median(float(r["wall"]) for r in rs)
        cp = statistics.median(float(r["cpu"]) for r in rs)
        inflight = rs[0].get("inflight", "1")
        label = names[c] + (" (%s cmds)" % inflight if c == "imaph-pipelined" else "")
        print("  %-24s %9.3f %9.3f %8.1fx %10.0f %9s" % (label, w, cp, cp / rcpu if rcpu else float("nan"),
              mb / w, rs[0].get("messages", "-")))
PY
# one line per figure the issue-17 table takes (tests/bench/run.sh E2E=1)
$PY - "$RES" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    rows.setdefault((kv["test"], kv["client"]), []).append(kv)
rs = rows.get(("meta", "imaph-1cmd"))
if rs:
    cp = statistics.median(float(r["cpu"]) for r in rs)
    mb = float(rs[0]["bytes"]) / 1e6 if "bytes" in rs[0] else float(rows[("meta", "raw")][0]["bytes"]) / 1e6
    print("figure: e2e meta imaph-1cmd cpu_ms_per_mb=%.2f high_water=%s bytes=%d" % (
        1000 * cp / mb, max(int(r.get("high_water", 0)) for r in rs), int(mb * 1e6)))
PY
