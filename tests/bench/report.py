#!/usr/bin/env python3
"""Turn the "result ..." and "cg ..." lines run.sh collected into the tables
of tests/bench/RESULTS.md (Markdown on stdout).

    python3 tests/bench/report.py --results FILE --manifest FILE --machine FILE
                                  [--callgrind-dir DIR --imaph-source imap.h]
"""
import argparse
import os
import re
import statistics
import subprocess

PARSERS = ["imaph", "imaph-touch", "libetpan", "libetpan-kept", "imaplib", "bytescan", "memchr"]
LABEL = {
    "imaph": "imap.h (-O2, 64 KiB feeds, full typed decode)",
    "imaph-touch": "imap.h, the same, every body byte read once by the sink/walk",
    "libetpan": "libetpan 1.9.4, streaming (msg_att + body handlers)",
    "libetpan-kept": "libetpan 1.9.4, one list per command (as mailimap_fetch)",
    "imaplib": "Python imaplib `_get_response`",
    "bytescan": "byte-wise scan (quotes, parens, {n})",
    "memchr": "memchr for LF",
}
CORPUS = {
    "fetchmeta": "FETCH metadata: `UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`",
    "bodies": "FETCH bodies: `FETCH 1:2000 (UID BODY[])`, literals 2 KB - 500 KB",
    "liststatus": "LIST + STATUS: `LIST \"\" \"*\" RETURN (STATUS ...)`, 5,000 mailboxes",
    "search": "SEARCH: one response of 1,000,000 numbers",
}
COUNTERS = ["responses", "fetches", "attrs", "envelopes", "addrs", "groups", "parts",
            "params", "flags", "mailboxes", "statuses", "numbers", "literal bytes"]


def counter(r, k):
    if k == "literal bytes":        # kept in the parser's memory + streamed to a sink/handler
        return str(int(r.get("literal_bytes", 0)) + int(r.get("sunk_bytes", 0)))
    return r.get(k, "0")


def parse_lines(path):
    res, cg = [], {}
    with open(path) as f:
        for line in f:
            kind, _, rest = line.strip().partition(" ")
            kv = dict(p.split("=", 1) for p in rest.split() if "=" in p)
            if kind == "result":
                res.append(kv)
            elif kind == "cg":
                try:
                    cg[(kv["parser"], kv["corpus"])] = int(kv["ir"]) / int(kv["bytes"])
                except (KeyError, ValueError, ZeroDivisionError):
                    pass
    return res, cg


def fnum(x, nd=1):
    if x >= 999.5:
        return "{:,.0f}".format(x)
    if x >= 100:
        return "{:.0f}".format(x)
    return ("{:.%df}" % nd).format(x)


def kib(n):
    n = int(n)
    if n >= 1 << 20:
        return "%.1f MiB" % (n / 1048576.0)
    if n >= 1024:
        return "%.1f KiB" % (n / 1024.0)
    return "%d B" % n


def timing_rows(res):
    rows = {}
    for r in res:
        if not r.get("round", "").isdigit():
            continue
        rows.setdefault((r["corpus"], r["parser"]), []).append(r)
    return rows


def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)


def annotate(cgfile, top, source=None):
    """Top functions by self instructions (and top source lines of imap.h)."""
    try:
        out = subprocess.run(["callgrind_annotate", "--show-percs=no", "--context=0"] +
                             (["--auto=yes"] if source else ["--auto=no"]) + [cgfile] +
                             ([source] if source else []),
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, [], []
    total, funcs, lines = None, [], []
    m = re.search(r"^\s*([\d,]+)\s+PROGRAM TOTALS", out, re.M)
    if m:
        total = int(m.group(1).replace(",", ""))
    sec = out.split("file:function", 1)[-1]
    for ln in sec.splitlines()[2:]:
        m = re.match(r"^\s*([\d,]+)\s+(\S.*?)(?:\s+\[(.*)\])?$", ln)
        if not m:
            if funcs:
                break
            continue
        name = m.group(2).split(":", 1)[-1]
        where = os.path.basename(m.group(2).split(":", 1)[0])
        funcs.append((int(m.group(1).replace(",", "")), name, where))
        if len(funcs) >= top:
            break
    if source:
        cur_file, lineno, seen = None, None, {}
        for ln in out.splitlines():
            m = re.match(r"^-- (?:Auto|User)-annotated source: (.*)$", ln)
            if m:
                cur_file = os.path.basename(m.group(1))
                continue
            if "events annotated" in ln:
                cur_file = None
                continue
            m = re.match(r"^-- line (\d+) -+$", ln)
            if m:
                lineno = int(m.group(1))
                continue
            m = re.match(r"^\s*([\d,]+)\s{2,}(.*)$", ln)
            if m and cur_file == os.path.basename(source) and lineno is not None and "=>" not in m.group(2)[:4]:
                seen[lineno] = (int(m.group(1).replace(",", "")), lineno, m.group(2).strip())
                lineno += 1
        lines = sorted(seen.values(), reverse=True)
    return total, funcs, lines[:top]


def source_functions(path):
    """[(first line, name)] of the functions defined in a C file."""
    out = []
    with open(path, errors="replace") as f:
        for no, ln in enumerate(f, 1):
            m = re.match(r"^(?:static|IMAPDEF)\b[^;=]*?\b(\w+)\s*\(", ln)
            if m and not ln.rstrip().endswith(";"):
                out.append((no, m.group(1)))
    return out


def by_function(lines, funcs):
    """Sum line-level counts per enclosing source function: the cost of a
    static helper stays its own even where the compiler inlined it."""
    sums = {}
    for ir, ln, _ in lines:
        name = None
        for first, fn in funcs:
            if first > ln:
                break
            name = fn
        sums[name or "?"] = sums.get(name or "?", 0) + ir
    return sorted(((v, k) for k, v in sums.items()), reverse=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--manifest")
    ap.add_argument("--machine")
    ap.add_argument("--callgrind-dir")
    ap.add_argument("--imaph-source")
    a = ap.parse_args()
    res, cg = parse_lines(a.results)
    rows = timing_rows(res)
    out = []
    p = out.append

    p("## Performance")
    p("")
    if a.machine and os.path.exists(a.machine):
        p("```")
        p(open(a.machine).read().rstrip())
        p("```")
        p("")
    if a.manifest and os.path.exists(a.manifest):
        p("Corpora (tests/bench/gen.py, fixed seed; same bytes on every machine):")
        p("")
        p("```")
        p(open(a.manifest).read().rstrip())
        p("```")
        p("")
    p("MB = 10^6 bytes. Each figure is the median of the runs (runs alternate between "
      "parsers); one run makes passes over the in-memory corpus until MIN_TIME has gone "
      "by. *RSS* is peak ru_maxrss of the process, which includes the corpus itself; "
      "*+RSS* is what the parser added on top of the loaded corpus. *instr/B* is "
      "callgrind's instruction count per input byte for one pass (a smaller slice of the "
      "same shape). *x libetpan* compares median MB/s.")
    p("")

    summary = {}
    for corpus in ["fetchmeta", "bodies", "liststatus", "search"]:
        present = [q for q in PARSERS if (corpus, q) in rows]
        if not present:
            continue
        any_r = rows[(corpus, present[0])][0]
        p("### %s" % CORPUS[corpus])
        p("")
        p("%s bytes, %s responses." % ("{:,}".format(int(any_r["bytes"])),
                                       "{:,}".format(int(rows.get((corpus, "imaph"), [any_r])[0]["responses"]))))
        p("")
        p("| parser | MB/s (min-max) | responses/s | RSS | +RSS | arena / high-water | x libetpan | instr/B | runs |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        et = med(rows[(corpus, "libetpan")], "mbps") if (corpus, "libetpan") in rows else None
        for q in present:
            rs = rows[(corpus, q)]
            mb = med(rs, "mbps")
            rps = med(rs, "rps")
            rss = med(rs, "maxrss_kb")
            plus = statistics.median(max(0, int(r["maxrss_kb"]) - int(r["rss_base_kb"])) for r in rs)
            arena = "%s / %s" % (kib(rs[0]["arena"]), kib(rs[0]["high_water"])) if q == "imaph" else ""
            ratio = "%.1fx" % (mb / et) if et and q != "libetpan" else ("1x" if q == "libetpan" else "")
            ipb = cg.get((q, corpus))
            errs = sum(int(r.get("errors", 0)) for r in rs)
            note = "" if errs == 0 else " (%d errors)" % errs
            label = LABEL[q]
            if q == "libetpan" and corpus in ("liststatus", "search"):
                label = "libetpan 1.9.4 (no streaming mode for %s)" % ("LIST/STATUS" if corpus == "liststatus" else "SEARCH")
            p("| %s%s | %s | %s | %.1f MB | %.1f MB | %s | %s | %s | %d |" % (
                label, note, "%s (%s-%s)" % (fnum(mb), fnum(min(float(r["mbps"]) for r in rs)),
                                             fnum(max(float(r["mbps"]) for r in rs))), fnum(rps, 0), rss / 1024.0, plus / 1024.0, arena, ratio,
                ("%.2f" % ipb if ipb < 10 else "%.1f" % ipb) if ipb is not None else "", len(rs)))
            summary[(corpus, q)] = (mb, rs)
        p("")

    # ---- cross-check: both C parsers saw the same things --------------------------
    p("### Cross-check: imap.h and libetpan decoded the same data")
    p("")
    p("| corpus | " + " | ".join(COUNTERS) + " |")
    p("| --- |" + " ---: |" * len(COUNTERS))
    for corpus in ["fetchmeta", "bodies", "liststatus", "search"]:
        if (corpus, "imaph") not in rows or (corpus, "libetpan") not in rows:
            continue
        a_, b_ = rows[(corpus, "imaph")][0], rows[(corpus, "libetpan")][0]
        cells = []
        for k in COUNTERS:
            x, y = counter(a_, k), counter(b_, k)
            cells.append("{:,}".format(int(x)) if x == y else "%s / %s" % (x, y))
        p("| %s | %s |" % (corpus, " | ".join(cells)))
    p("")
    p("One number means both parsers counted the same (messages, attributes, envelopes "
      "including those of attached messages, addresses, groups, body parts, parameters, "
      "flags, mailboxes, STATUS responses, SEARCH numbers, literal bytes delivered); "
      "\"a / b\" would be imap.h / libetpan.")
    ps = [r.get("parser_struct") for r in res if r.get("parser") == "imaph" and r.get("parser_struct")]
    if ps:
        p("")
        p("imap.h's whole state is the arena above plus one `imap_parser` struct of %s bytes "
          "(caller-owned; no heap)." % ps[0])
    p("")

    # ---- arena for single-line responses ---------------------------------------------
    ar = {(r["corpus"], r["round"]): r for r in res if r.get("round", "").startswith("arena")}
    if ar:
        p("### Arena for one-line responses (SEARCH, SORT, ESEARCH, VANISHED)")
        p("")
        p("| response | line bytes | arena needed (high-water, 64 MiB arena) | x line | MB/s | with a 64 KiB arena |")
        p("| --- | ---: | ---: | ---: | ---: | --- |")
        for c in ["search", "sort", "esearch", "vanished"]:
            big, small = ar.get((c, "arena64M")), ar.get((c, "arena64K"))
            if not big:
                continue
            hw = int(big["high_water"])
            if small:
                if int(small["errors"]):
                    s = "rejected: %s; %s numbers delivered; the tagged OK after it still parsed (%s)" % (
                        small["last_error"], small["numbers"], "yes" if small["tagged_ok"] == "1" else "no")
                else:
                    s = "parsed"
            else:
                s = ""
            p("| %s | %s | %s (%s B) | %.1fx | %s | %s |" % (
                c.upper(), "{:,}".format(int(big["bytes"])), kib(hw), "{:,}".format(hw),
                hw / float(int(big["bytes"])), fnum(float(big["mbps"])), s))
        p("")
        st = [r for r in res if r.get("parser") == "imaplib-stock"]
        if st and st[0]["error"] != "-":
            p("Stock imaplib on the SEARCH corpus (line limit %s bytes) refuses it: `%s`. "
              "The imaplib rows above raise `imaplib._MAXLINE` to accept the line." % (
                  "{:,}".format(int(st[0]["maxline"])), st[0]["error"].replace("_", " ")))
            p("")
        elif st:
            p("Stock imaplib accepted this SEARCH corpus: its line is shorter than the "
              "%s-byte limit (a QUICK-sized corpus)." % "{:,}".format(int(st[0]["maxline"])))
            p("")

    # ---- targets ----------------------------------------------------------------------------
    def mbps(c, q):
        return summary[(c, q)][0] if (c, q) in summary else None

    p("### Targets (issue 6)")
    p("")
    p("| target | measured | met? |")
    p("| --- | --- | --- |")
    im, et, bs = mbps("fetchmeta", "imaph"), mbps("fetchmeta", "libetpan"), mbps("fetchmeta", "bytescan")
    if im and et:
        p("| FETCH metadata >= 25x libetpan (streaming, its fastest mode), full typed decode | %.1fx (%s vs %s MB/s) | %s |" % (
            im / et, fnum(im), fnum(et), "yes" if im / et >= 25 else "**no**"))
    ek = mbps("fetchmeta", "libetpan-kept")
    if im and ek:
        p("| the same against libetpan as mailimap_fetch uses it (one list per command) | %.1fx (%s vs %s MB/s) | %s |" % (
            im / ek, fnum(im), fnum(ek), "yes" if im / ek >= 25 else "**no**"))
    if im and bs:
        p("| FETCH metadata >= byte-wise scan | %.0f%% of it (%s vs %s MB/s) | %s |" % (
            100 * im / bs, fnum(im), fnum(bs), "yes" if im >= bs else "**no**"))
    ib, mc = mbps("bodies", "imaph"), mbps("bodies", "memchr")
    if ib and mc:
        p("| bodies >= 80%% of memchr | %.0f%% (%s vs %s MB/s) | %s |" % (
            100 * ib / mc, fnum(ib), fnum(mc), "yes" if ib >= 0.8 * mc else "**no**"))
    if ("fetchmeta", "imaph") in summary:
        hw = max(int(r["high_water"]) for r in summary[("fetchmeta", "imaph")][1])
        p("| arena high-water <= 64 KiB for FETCH metadata | %s (%s B) | %s |" % (
            kib(hw), "{:,}".format(hw), "yes" if hw <= 65536 else "**no**"))
    for c in ["search", "sort", "esearch", "vanished"]:
        big = ar.get((c, "arena64M")) if ar else None
        if big:
            hw = int(big["high_water"])
            p("| %s of 1,000,000 UIDs with an arena far smaller than the line | needs %s for a %s line | %s |" % (
                c.upper(), kib(hw), kib(big["bytes"]), "yes" if hw * 8 < int(big["bytes"]) else "**no**"))
    p("")

    # ---- issue 17 -----------------------------------------------------------------------------
    extra = {}
    with open(a.results) as f:
        for line in f:
            kind, _, rest = line.strip().partition(" ")
            if kind == "engine":
                kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
                extra[("engine", kv.get("arch", ""), kv.get("slots", ""))] = kv
            if kind in ("m4", "e2e"):
                kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
                extra[(kind, kv.get("opt", ""), kv.get("kind", ""))] = kv
    p("### Goals (issue 17)")
    p("")
    p("| workload | measured (this run) | goal | met? |")
    p("| --- | --- | --- | --- |")
    ipb = cg.get(("imaph", "fetchmeta"))
    if im and bs and et:
        p("| FETCH ENVELOPE+BODYSTRUCTURE, full typed decode, x86-64 | %.2fx the byte-wise scan (%s vs %s MB/s); %.1fx libetpan streaming; %s instr/B | >= 1.0x the scan; >= 25x libetpan; <= 12 instr/B | %s / %s / %s |" % (
            im / bs, fnum(im), fnum(bs), im / et, "%.1f" % ipb if ipb else "?",
            "yes" if im >= bs else "**no**", "yes" if im / et >= 25 else "**no**",
            "yes" if ipb and ipb <= 12 else "**no**"))
    m4d, m4p = extra.get(("m4", "-Os", "decode")), extra.get(("m4", "-Os", "parse"))
    if m4d:
        o2 = extra.get(("m4", "-O2", "decode"))
        p("| the same, Cortex-M4 -Os (QEMU icount, tests/bench/m4.sh) | %s instr/B with full decode (parse only %s)%s | <= 30 instr/B | %s |" % (
            m4d["ipb"], m4p["ipb"] if m4p else "?", "; -O2: %s" % o2["ipb"] if o2 else "",
            "yes" if float(m4d["ipb"]) <= 30 else "**no**"))
    else:
        p("| the same, Cortex-M4 -Os | not run (SKIP_M4=1) | <= 30 instr/B | - |")
    e32, e4 = extra.get(("engine", "m4", "32")), extra.get(("engine", "m4", "4"))
    x32, x4 = extra.get(("engine", "x86-64", "32")), extra.get(("engine", "x86-64", "4"))
    if e32 or x32:
        cells = []
        if e32:
            cells.append("M4 -Os: %s instructions a read with 32 slots%s" % (
                e32["ipr"], ", %s with 4" % e4["ipr"] if e4 else ""))
        if x32:
            cells.append("x86-64: %s / %s" % (x32["ipr"], x4["ipr"] if x4 else "?"))
        ok = e32 and int(e32["ipr"]) <= 300
        p("| engine cost per transport read (one command in flight, \"* N EXISTS\" a read; tests/bench/engine_read.c) | %s | <= 300, growing with commands in flight, not slots | %s |" % (
            "; ".join(cells), "yes" if ok else "**no**"))
    else:
        p("| engine cost per transport read | not run | <= 300 | - |")
    e2 = [v for k, v in extra.items() if k[0] == "e2e"]
    if e2:
        p("| client CPU, 10k messages ENVELOPE+BODYSTRUCTURE from Dovecot (one command) | %s ms per MB | <= 2 ms per MB | %s |" % (
            e2[0]["cpu_ms_per_mb"], "yes" if float(e2[0]["cpu_ms_per_mb"]) <= 2 else "**no**"))
    else:
        p("| client CPU, 10k messages from Dovecot | not run (E2E=1 runs tests/bench/e2e.sh) | <= 2 ms per MB | - |")
    p("| IDLE connections in one thread against Dovecot | no benchmark yet | >= 2,000 at <= 16 KiB, <= 20 us per notification | - |")
    it, mcb = mbps("bodies", "imaph-touch"), mbps("bodies", "memchr")
    if it and mcb and ib:
        p("| bodies, a sink that reads every byte once | %s MB/s = %.0f%% of memchr (%s MB/s); %s MB/s when the sink reads nothing | (honest figure) | - |" % (
            fnum(it), 100 * it / mcb, fnum(mcb), fnum(ib)))
    if ("fetchmeta", "imaph") in summary:
        hws = ["%s on gen.py's FETCH metadata" % kib(max(int(r["high_water"]) for r in summary[("fetchmeta", "imaph")][1]))]
        if e2:
            hws.append("%s on Dovecot's answer for e2e_mkmail.py's 10,000 messages" % kib(e2[0]["high_water"]))
        p("| parser high-water, FETCH ENVELOPE+BODYSTRUCTURE | %s | (the range: what to allocate) | - |" % "; ".join(hws))
    p("")

    # ---- profile --------------------------------------------------------------------------
    if a.callgrind_dir and os.path.isdir(a.callgrind_dir):
        p("### Where imap.h spends its instructions (callgrind, -O2 -g)")
        p("")
        for corpus in ["fetchmeta", "liststatus", "search", "bodies"]:
            f = os.path.join(a.callgrind_dir, "imaph.%s" % corpus)
            if not os.path.exists(f):
                continue
            want_lines = corpus != "bodies" and a.imaph_source
            total, funcs, lines = annotate(f, 10 if not want_lines else 100000,
                                           a.imaph_source if want_lines else None)
            if not total:
                continue
            p("**%s**: %s instructions in the timed pass (%.1f per byte)" % (
                corpus, "{:,}".format(total), cg.get(("imaph", corpus), 0)))
            p("")
            p("| self Ir | % | function (as compiled: static helpers may be inlined) |")
            p("| ---: | ---: | --- |")
            for ir, name, where in funcs[:10]:
                p("| %s | %.1f | `%s` (%s) |" % ("{:,}".format(ir), 100.0 * ir / total, name, where))
            p("")
            if lines:
                p("The same instructions by imap.h source function (inlined code counted where it is written):")
                p("")
                p("| Ir | % | imap.h function |")
                p("| ---: | ---: | --- |")
                for ir, name in by_function(lines, source_functions(a.imaph_source))[:10]:
                    p("| %s | %.1f | `%s` |" % ("{:,}".format(ir), 100.0 * ir / total, name))
                p("")
                p("Hottest lines of imap.h:")
                p("")
                p("| Ir | % | line | source |")
                p("| ---: | ---: | ---: | --- |")
                for ir, ln, src in lines[:8]:
                    p("| %s | %.1f | %d | `%s` |" % ("{:,}".format(ir), 100.0 * ir / total, ln,
                                                     src.replace("|", "\\|")[:90]))
                p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
