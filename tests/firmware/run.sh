#!/usr/bin/env bash
# Firmware that runs: imap.h on an emulated Cortex-M4 (QEMU mps2-an386)
# against a real server, run by tests/run.sh after build.sh. Prints
# "ok|FAIL <check>" lines, "figure: ..." lines (figures, never asserted)
# and "N passed, N failed".
#
#   bash tests/firmware/run.sh
#
# Images (tests/firmware/fw.c, own start-up fw_start.c, linker script
# qemu.ld, fault handler reporting CFSR/HFSR/PC over semihosting):
#   m4     imap.h's default limits, 48 KiB parser buffer; figures
#   small  Cortex-M4, 4 KiB parser buffer and small limits (~11 KiB RAM)
#   m0     ARMv6-M code (-mcpu=cortex-m0) with CCR.UNALIGN_TRP and
#          DIV_0_TRP on, client memory at an odd address
#   embedded  examples/embedded.c itself (its simulated modem), on target
# Each Dovecot session runs the UART through two FIFOs to Dovecot's imap
# binary in PREAUTH stdio mode over a private Maildir (demo-maildir.sh plus
# a ~500 KB multipart and a long recipient list); while the firmware IDLEs
# this script delivers a message. edge.pl plays crafted 32-bit edge
# sessions. Every QEMU run is under `timeout`.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/server/common.sh

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# qemu-system-arm with the dpkg lock timeout (other installs run at once)
if [ ! -x /usr/bin/qemu-system-arm ] && [ "$(id -u)" = 0 ]; then
    ( flock -w 900 9 && [ ! -x /usr/bin/qemu-system-arm ] &&
      { apt-get -o DPkg::Lock::Timeout=900 update -qq;
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
            --no-install-recommends qemu-system-arm; } ) 9>>/tmp/.imaph-apt.lock > /dev/null 2>&1
fi
imaph_ensure_pkgs /usr/bin/arm-none-eabi-gcc:gcc-arm-none-eabi \
    /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a:libnewlib-arm-none-eabi \
    /usr/lib/dovecot/imap:dovecot-imapd
if [ ! -x /usr/bin/qemu-system-arm ]; then
    fail "qemu-system-arm is not installed"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi

B=$(mktemp -d /tmp/imaph-q.XXXXXX)
chmod 755 "$B"
PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
F=tests/firmware
QEMU_T=200      # seconds per QEMU run, at most

# ---- images ---------------------------------------------------------------
M4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
M0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
CFL="-std=c99 -Os -ffunction-sections -fdata-sections -Wall -Wextra -Wpedantic -Werror"
LDF="-nostartfiles --specs=nano.specs --specs=nosys.specs -T $F/qemu.ld -Wl,--gc-sections"
build() {   # name arch flags... (sources last); prints ok/FAIL, counted below
    local name=$1 arch=$2
    shift 2
    # shellcheck disable=SC2086
    if arm-none-eabi-gcc $arch $CFL -I"$ROOT" -I"$F" $LDF -Wl,-Map="$B/$name.map" \
        "$@" -o "$B/$name.elf" 2> "$B/$name.err"; then
        echo "ok   firmware image $name builds ($*)"
        return 0
    fi
    echo "FAIL firmware image $name builds"
    head -n 20 "$B/$name.err"
    return 1
}
# two at a time (the machine has two cores), in the background while the
# host checks and the Maildir are made; each prints its own result
(
{ build m4 "$M4" -DFW_CPU='"m4"' $F/fw_start.c $F/fw.c > "$B/b1" & 
  build small "$M4" -DFW_CPU='"m4-small"' -DFW_SMALL $F/fw_start.c $F/fw.c > "$B/b2"; wait; }
{ build m0 "$M0" -DFW_CPU='"m0"' -DFW_TRAPS=1 -DFW_MISALIGN $F/fw_start.c $F/fw.c > "$B/b3" &
  build embedded "$M4" -DNO_PRINTF $F/fw_start.c examples/embedded.c > "$B/b4"; wait; }
{ build fault-unaligned "$M0" -DFW_TRAPS=1 -DFAULT_UNALIGNED $F/fw_start.c $F/fault.c > "$B/b5" &
  build fault-div0 "$M4" -DFW_TRAPS=1 $F/fw_start.c $F/fault.c > "$B/b6"; wait; }
) &
BUILDS=$!

# ---- host checks of the fixes (ASan + UBSan) --------------------------------
if gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsanitize=address,undefined -g \
    $F/host.c -o "$B/host" 2> "$B/host.err"; then
    out=$("$B/host" 2>&1)
    printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
    PASSED=$((PASSED + $(printf '%s\n' "$out" | grep -c '^ok ')))
    FAILED=$((FAILED + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
else
    fail "tests/firmware/host.c builds"; head -n 20 "$B/host.err"
fi

# ---- the private Maildir ----------------------------------------------------
# demo-maildir.sh's messages, plus a ~500 KB multipart (30 parts) whose
# body goes through the sink, and one with a long recipient list: both
# too large for the small build's 4 KiB parser buffer
MD=$B/md
if CMD=$(bash tests/server/demo-maildir.sh "$MD" 2> "$B/md.err"); then
    pass "private Maildir and Dovecot's PREAUTH command (demo-maildir.sh)"
else
    fail "demo-maildir.sh"; cat "$B/md.err"
    echo "$PASSED passed, $FAILED failed"; exit 1
fi
echo "mailbox_idle_check_interval = 1 secs" >> "$MD/stream.conf"
perl -e '
    my $x = 12345;
    sub line { my $s = ""; for (1..76) { $x = ($x * 1103515245 + 12345) % 2147483648;
        $s .= substr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", $x >> 25, 1) } "$s\r\n" }
    print "From: Firmware Test <fw\@example.org>\r\nTo: Demo User <demo\@example.com>\r\n",
        "Subject: a large multipart for the sink\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n",
        "Message-ID: <big-1\@example.org>\r\nMIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n";
    for my $i (1..30) {
        print "--b0\r\nContent-Type: application/octet-stream; name=\"part$i.bin\"\r\n",
            "Content-Disposition: attachment; filename=\"part$i.bin\"\r\n",
            "Content-Transfer-Encoding: base64\r\n\r\n";
        print line() for 1..215;
    }
    print "--b0--\r\n";' > "$MD/Maildir/cur/1764583200.M100P1Q100.fw:2,S"
perl -e '
    print "From: Many <many\@example.org>\r\nTo: ";
    print join(",\r\n ", map { "\"Recipient Number $_\" <recipient$_\@lists.example.net>" } 1..60);
    print "\r\nSubject: many recipients\r\nDate: Tue, 1 Dec 2026 11:00:00 +0000\r\n",
        "Message-ID: <many-1\@example.org>\r\n\r\nhello\r\n";' > "$MD/Maildir/cur/1764586800.M101P1Q101.fw:2,"
chown -R 65534:65534 "$MD/Maildir"

# host_imap FILE COMMANDS: Dovecot's answers to COMMANDS (then LOGOUT) in
# FILE; stdin stays open until the LOGOUT's OK (at EOF Dovecot may drop
# output not yet written)
host_imap() {
    local out=$1 cmds=$2
    : > "$out"
    { printf "${cmds}z LOGOUT\r\n"
      for _ in $(seq 300); do grep -q '^z OK' "$out" && break; sleep 0.1; done
    } | timeout 60 sh -c "$CMD" > "$out" 2>/dev/null
}
# the largest message's UID and the POSIX cksum of its BODY[], from the host
host_sum() {
    host_imap "$B/h1" 'a SELECT INBOX\r\nb FETCH 1:* (UID RFC822.SIZE)\r\n'
    BIGUID=$(perl -ne 'if (/^\* \d+ FETCH \(UID (\d+) RFC822\.SIZE (\d+)\)/ && $2 > $m) { $m = $2; $u = $1 } END { print "$u\n" }' "$B/h1")
    host_imap "$B/h2" "a SELECT INBOX\\r\\nb UID FETCH $BIGUID (BODY.PEEK[])\\r\\n"
    perl -0777 -ne 'print substr($_, $+[0], $1) if /BODY\[\] \{(\d+)\}\r\n/' "$B/h2" > "$B/big.body"
    HOSTSUM="$(wc -c < "$B/big.body") $(cksum < "$B/big.body" | cut -d' ' -f1)"
    HOSTSUM_PART="131072 $(head -c 131072 "$B/big.body" | cksum | cut -d' ' -f1)"
}
host_sum
# Dovecot's capability list as the host reads it: the firmware must hold it
# whole (IMAP_CAPS_BYTES)
host_imap "$B/h3" 'a CAPABILITY\r\n'
CAPLEN=$(perl -ne 'if (/^\* CAPABILITY (.*?)\r?$/) { print length($1), "\n"; exit }' "$B/h3")
echo "note: the largest message: UID $BIGUID, $HOSTSUM (bytes, cksum) as the host fetched it"

# deliver a message into the Maildir (as its owner): Dovecot then pushes
# "* N EXISTS" to the IDLE in progress
deliver() {
    local n=$1 f
    f="$(date +%s).M${n}P1Q1.fw"
    printf 'From: IDLE <idle@example.org>\r\nTo: demo@example.com\r\nSubject: delivered during IDLE %s\r\n\r\nnew mail\r\n' "$n" \
        > "$MD/Maildir/tmp/$f"
    chown 65534:65534 "$MD/Maildir/tmp/$f"
    mv "$MD/Maildir/tmp/$f" "$MD/Maildir/new/$f"
}

# start NAME IMAGE MODE SERVER [qemu args]: the firmware in the background,
# its UART through two FIFOs to SERVER (Dovecot's PREAUTH command, or
# edge.pl). Everything runs at once: the emulated UART, not the CPU, sets
# the pace (QEMU sleeps in the firmware's WFI). finish NAME waits for it.
declare -A QP SP T0
start() {
    local name=$1 img=$2 mode=$3 server=$4
    shift 4
    rm -f "$B/$name.in" "$B/$name.out"
    mkfifo "$B/$name.in" "$B/$name.out"
    sh -c "$server" < "$B/$name.out" > "$B/$name.in" 2>> "$B/$name.srv" &
    SP[$name]=$!
    PIDS="$PIDS $!"
    T0[$name]=$(date +%s%N)
    qemu "$name" "$img" "$mode" -chardev "pipe,id=imap,path=$B/$name" -serial chardev:imap "$@"
    QP[$name]=$QPID
}
# deliver a message to each Dovecot session once it IDLEs, until all ended
watch_sessions() {
    local name left delivered=" "
    while :; do
        left=0
        for name in "${!QP[@]}"; do
            kill -0 "${QP[$name]}" 2>/dev/null || continue
            left=1
            case $delivered in *" $name "*) continue ;; esac
            if grep -q '^fw: idle from' "$B/$name.log" 2>/dev/null; then
                sleep 0.3
                deliver "$name"
                delivered="$delivered$name "
            fi
        done
        [ "$left" = 1 ] || break
        sleep 0.1
    done
}
finish() {   # name: sets RC
    local name=$1
    wait "${QP[$name]}"
    RC=$?
    kill "${SP[$name]}" 2>/dev/null
    wait "${SP[$name]}" 2>/dev/null
    echo "note: $name took $(( ($(date +%s%N) - ${T0[$name]}) / 1000000 )) ms of real time (qemu exit $RC)"
    grep '^figure:' "$B/$name.log"
}
report() { grep -v '^figure:' "$B/$1.log" | sed "s|^|  [$1] |"; }   # the firmware's lines

# a firmware line's value: fwval NAME REGEX (first capture group)
fwval() { sed -n "s/$2/\1/p" "$B/$1.log" | head -n 1; }

check_session() {   # name rc want("bytes cksum")
    local name=$1 rc=$2 want=$3 sum uid
    if [ "$rc" = 0 ] && grep -q '^fw: .* ok (0 failed)$' "$B/$name.log"; then
        pass "$name: the firmware's Dovecot session passes its checks (exit 0)"
    else
        fail "$name: firmware session (exit $rc; 3 is a fault, 124 the timeout)"
        report "$name"
    fi
    local caps
    caps=$(fwval "$name" '^fw: capabilities \([0-9]*\) bytes.*')
    if [ -n "$CAPLEN" ] && [ "$caps" = "$CAPLEN" ]; then
        pass "$name: the capability list kept whole: $caps bytes, as the host reads it"
    else
        fail "$name: capability list $caps bytes kept, the host reads $CAPLEN"
    fi
    sum=$(sed -n 's/^fw: body uid=[0-9]* bytes=\([0-9]*\) cksum=\([0-9]*\).*/\1 \2/p' "$B/$name.log" | head -n 1)
    uid=$(fwval "$name" '^fw: body uid=\([0-9]*\).*')
    grep -E '^fw: (FETCH 1:\*|skipped|idle [a-z])' "$B/$name.log" | sed "s|^|note: $name |"
    if [ "$uid" = "$BIGUID" ] && [ "$sum" = "$want" ]; then
        pass "$name: UID FETCH $uid BODY.PEEK[] through the sink: $sum (bytes, cksum) as the host computes"
    else
        fail "$name: body uid $uid '$sum', host uid $BIGUID '$want'"
    fi
}

wait $BUILDS
for f in b1 b2 b3 b4 b5 b6; do
    while IFS= read -r l; do
        case $l in "ok   "*) pass "${l#ok   }" ;; "FAIL "*) fail "${l#FAIL }" ;; *) echo "$l" ;; esac
    done < "$B/$f"
done

# ---- sizes -------------------------------------------------------------------
# .text of imap.h's functions in each image: every imap_/imap__ symbol
text_of() {
    arm-none-eabi-nm -S -t d --size-sort "$B/$1.elf" 2>/dev/null |
        awk '$3 ~ /^[tT]$/ && $4 ~ /^imap_/ {s += $2; n++} END {printf "%d bytes in %d functions", s, n}'
}
for img in m4 small m0 embedded; do
    [ -f "$B/$img.elf" ] || continue
    read -r t d b _ < <(arm-none-eabi-size "$B/$img.elf" | awk 'NR == 2 {print $1, $2, $3}')
    echo "figure: $img image .text $t .data $d .bss $b; imap.h functions linked $(text_of $img)"
done

qemu() {   # name image mode [icount]: runs in the background, pid in QPID
    local name=$1 img=$2 mode=$3
    shift 3
    timeout "$QEMU_T" qemu-system-arm -M mps2-an386 -display none -monitor none \
        -semihosting-config enable=on,target=native "$@" \
        -kernel "$B/$img.elf" -append "$mode" > "$B/$name.log" 2>&1 &
    QPID=$!
    PIDS="$PIDS $QPID"
}

# ---- 1. everything on the target at once -------------------------------------
[ -f "$B/m4.elf" ] && start m4 m4 dovecot "$CMD" -icount shift=7
[ -f "$B/small.elf" ] && start small small dovecot "$CMD" -icount shift=7
[ -f "$B/m0.elf" ] && start m0 m0 dovecot-part "$CMD" -icount shift=7
# the 32-bit edges: edge.pl's crafted sessions, and a parser in memory
EDGES=""
for img in m4 m0; do
    [ -f "$B/$img.elf" ] || continue
    for mode in edge lit4 lit5 lit5sink; do
        start "$img-$mode" $img $mode "exec perl $F/edge.pl $mode"
        EDGES="$EDGES $img-$mode"
    done
done
if [ -f "$B/m4.elf" ]; then
    qemu m4-u64 m4 u64 -serial null
    QP[m4-u64]=$QPID
fi
if [ -f "$B/embedded.elf" ]; then
    qemu embedded embedded run -serial null
    QP[embedded]=$QPID
fi
for img in fault-unaligned fault-div0; do
    [ -f "$B/$img.elf" ] || continue
    qemu $img $img run -serial null
    QP[$img]=$QPID
done
watch_sessions

if [ -f "$B/m4.elf" ]; then
    finish m4
    check_session m4 $RC "$HOSTSUM"
fi
if [ -f "$B/small.elf" ]; then
    finish small
    check_session small $RC "$HOSTSUM"
    skipped=$(fwval small '^fw: skipped \([0-9]*\) responses.*')
    if [ -n "$skipped" ] && [ "$skipped" -gt 0 ]; then
        pass "small: $skipped FETCH responses too large for 4 KiB skipped with IMAP_E_NOMEM, the session went on"
    else
        fail "small: no response was skipped (the test mailbox should not fit 4 KiB)"
    fi
    # the small build's high-water covers what the rejected responses need:
    # at least what the large build, which kept them all, used
    hs=$(fwval small '.*parser high-water \([0-9]*\).*')
    hb=$(fwval m4 '^fw: parser high-water \([0-9]*\).*')
    if [ -n "$hs" ] && [ -n "$hb" ] && [ "$hs" -ge "$hb" ]; then
        pass "small: imap_parser_high_water() after skipping, $hs, covers the $hb the m4 build needed to keep them"
    else
        fail "small: high-water $hs after skipped responses, below the $hb needed to keep them"
    fi
    st=$(sed -n 's/^figure: m4-small stack high-water \([0-9]*\) bytes.*/\1/p' "$B/small.log")
    read -r _ d b _ < <(arm-none-eabi-size "$B/small.elf" | awk 'NR == 2 {print $1, $2, $3}')
    [ -n "$st" ] && echo "figure: m4-small RAM in all $((d + b + st)) bytes (.data $d + .bss $b + stack $st; parser buffer 4096)"
fi
if [ -f "$B/m0.elf" ]; then
    finish m0
    check_session m0 $RC "$HOSTSUM_PART"
    grep -q '^FAULT' "$B/m0.log" || pass "m0: ARMv6-M code with unaligned and divide-by-zero traps on, client memory at an odd address: no fault"
fi
# the session's RAM: .data + .bss + stack, less what only the figures use
# (the recording, the replay client and its memory)
for img in m4 m0; do
    st=$(sed -n "s/^figure: $img stack high-water \([0-9]*\) bytes.*/\1/p" "$B/$img.log" 2>/dev/null)
    [ -n "$st" ] || continue
    read -r _ d b _ < <(arm-none-eabi-size "$B/$img.elf" | awk 'NR == 2 {print $1, $2, $3}')
    fig=$(arm-none-eabi-nm -S -t d "$B/$img.elf" | awk '$4 ~ /^(rec|rmem|rclient|rparser|chunk)$/ {s += $2} END {print s + 0}')
    echo "figure: $img RAM in all $((d + b - fig + st)) bytes (.data $d + .bss $((b - fig)) + stack $st; client memory 64 KiB; the figures' own $fig bytes not counted)"
done

# ---- 2. examples/embedded.c on the target ---------------------------------
if [ -f "$B/embedded.elf" ]; then
    wait "${QP[embedded]}"
    rc=$?
    if [ "$rc" = 0 ]; then
        pass "examples/embedded.c runs on the target (QEMU Cortex-M4): its scripted session exits 0"
    else
        fail "examples/embedded.c on the target: exit $rc"; head -n 5 "$B/embedded.log"
    fi
fi

# ---- the fault handler: a trap ends the run with its registers -------------
for img in fault-unaligned:01000000 fault-div0:02000000; do
    cfsr=${img#*:}
    img=${img%%:*}
    [ -n "${QP[$img]:-}" ] || continue
    wait "${QP[$img]}"
    rc=$?
    if [ "$rc" = 3 ] && grep -q "^FAULT CFSR=$cfsr " "$B/$img.log"; then
        pass "$img: the trap is on and the fault handler reports it: $(grep '^FAULT' "$B/$img.log") (exit 3)"
    else
        fail "$img: exit $rc, $(head -c 200 "$B/$img.log")"
    fi
done

# ---- 3. the 32-bit edges ----------------------------------------------------
for name in $EDGES; do
    finish "$name" > "$B/$name.report"
    if [ "$RC" = 0 ] && grep -q ' ok (0 failed)$' "$B/$name.log"; then
        pass "$name: every check on the target passed"
    else
        fail "$name (exit $RC)"
        report "$name"
        sed 's/^/  [srv] /' "$B/$name.srv" | tail -n 5
    fi
done
if [ -n "${QP[m4-u64]:-}" ]; then
    wait "${QP[m4-u64]}"
    rc=$?
    if [ "$rc" = 0 ]; then
        pass "m4-u64: a 5 GiB literal through a 32-bit parser: node length, offsets and error_offset past 4 GiB"
    else
        fail "m4-u64 (exit $rc)"; grep -E '^(FAIL|FAULT)' "$B/m4-u64.log"
    fi
    grep '^fw: u64' "$B/m4-u64.log" | sed 's|^|note: |'
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
