# Worst-case stack of a call from each root, from gcc's -fcallgraph-info=su
# output (.ci, VCG). Usage: awk -v roots="f g" [-v skip="h"] -f stack.awk
# FILE.ci ... (functions in skip are left out of every chain).
# Prints per root: the deepest chain's bytes, the chain, and its largest
# frame. Calls through pointers (transport, callbacks) count 0 here and
# are named. A cycle (recursion) or a frame of dynamic size is reported
# as "RECURSION"/"DYNAMIC" so the caller can fail; each cycle is listed
# by its members, cycles separated by ";".
function strip(t) { sub(/^[^:]*\.c:/, "", t); return t }
/^node:/ {
    match($0, /title: "[^"]*"/); t = strip(substr($0, RSTART + 8, RLENGTH - 9))
    size[t] = 0
    if (match($0, /\\n[0-9]+ bytes \([a-z,]+\)/)) {
        s = substr($0, RSTART + 2, RLENGTH - 2); split(s, w, " ")
        size[t] = w[1] + 0
        if (s ~ /dynamic/) dyn[t] = 1
    }
}
/^edge:/ {
    match($0, /sourcename: "[^"]*"/); a = strip(substr($0, RSTART + 13, RLENGTH - 14))
    match($0, /targetname: "[^"]*"/); b = strip(substr($0, RSTART + 13, RLENGTH - 14))
    if (index(" " skip " ", " " b " ")) next
    if (!((a SUBSEP b) in seen)) { seen[a, b] = 1; kids[a] = kids[a] " " b }
}
# deepest(f): worst bytes from entering f; best[f] names the next callee
function deepest(f,    n, k, i, d, m, c) {
    if (f in memo) return memo[f]
    if (f in onstack) {
        # the cycle: the chain from f's entry to here
        c = ""
        for (i = onstack[f]; i <= sp; i++) c = c " " path[i]
        if (!(c in cycles)) { cycles[c] = 1; cyc = cyc (cyc == "" ? "" : ";") c }
        return 0
    }
    path[++sp] = f
    onstack[f] = sp
    if (f in dyn) dynamic = dynamic " " f
    m = 0; best[f] = ""
    n = split(kids[f], k, " ")
    for (i = 1; i <= n; i++) {
        d = deepest(k[i])
        if (d > m || best[f] == "") { if (d >= m) { m = d; best[f] = k[i] } }
    }
    delete onstack[f]
    sp--
    memo[f] = size[f] + m
    return memo[f]
}
END {
    n = split(roots, r, " ")
    for (i = 1; i <= n; i++) {
        f = r[i]
        if (!(f in size)) { printf "%s: MISSING from the call graph\n", f; continue }
        total = deepest(f)
        chain = ""; big = ""; bigsz = -1
        for (g = f; g != ""; g = best[g]) {
            chain = chain (chain == "" ? "" : " > ") g "(" size[g] ")"
            if (size[g] > bigsz) { bigsz = size[g]; big = g }
        }
        printf "%s: %d bytes deepest; largest frame %s %d bytes\n  chain: %s\n", f, total, big, bigsz, chain
    }
    if (cyc != "") printf "RECURSION through:%s\n", cyc
    if (dynamic != "") printf "DYNAMIC frames:%s\n", dynamic
}
