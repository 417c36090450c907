#!/usr/bin/env python3
"""Tables from footprint.sh's result lines (issue 6)."""
import sys

rows = []
for line in open(sys.argv[1]):
    w = line.split()
    if not w:
        continue
    kv = dict(f.split("=", 1) for f in w[1:] if "=" in f)
    rows.append((w[0], kv, line.rstrip("\n")))


def get(kind, **want):
    return [kv for k, kv, _ in rows if k == kind and all(kv.get(a) == b for a, b in want.items())]


print()
print("Code: bytes of imap.h's -Os implementation TU kept by --gc-sections, per feature set")
print("(cumulative; 'program' = size(1) of the linked program minus an empty one, libc included)")
print("  %-10s %-9s %7s %7s %6s %5s %10s %5s" % ("arch", "set", "text", "rodata", "data", "bss", "program", "fns"))
for kv in get("code"):
    print("  %-10s %-9s %7s %7s %6s %5s %10s %5s" % (kv["arch"], kv["set"], kv["text"], kv["rodata"], kv["data"],
          kv["bss"], int(kv["prog_text"]) + int(kv["prog_data"]), kv["functions"]))
print("  whole object, nothing dropped (size(1): text includes rodata):")
for kv in get("whole"):
    print("    %-10s %-14s text=%s data=%s bss=%s" % (kv["arch"], kv["cfg"], kv["text"], kv["data"], kv["bss"]))

print()
print("sizeof (bytes); embedded = examples/embedded.c's limits (IMAP_MAX_PENDING 4, READ_CHUNK 64, ...)")
cfgs = [kv for kv in get("sizeof")]
names = ["imap_parser", "imap_client", "imap_cmd", "imap_tcp", "imap_stream", "imap_script",
         "imap_tls", "imap_deflate", "imap_sasl"]
print("  %-14s" % "struct" + "".join("%13s" % c["cfg"].replace("embedded", "emb").replace("-default", "")[:12] for c in cfgs))
for n in names:
    print("  %-14s" % n + "".join("%13s" % c.get(n, "-") for c in cfgs))
print("  (imap_tls: IMAP_TLS_BUFSIZE = BR_SSL_BUFSIZE_BIDI, in the '-mono' columns BR_SSL_BUFSIZE_MONO)")

print()
print("Stack (-fstack-usage -fcallgraph-info=su, -Os; direct calls only: callbacks and")
print("transport reads called through pointers are the caller's own)")
for k, kv, line in rows:
    if k in ("chain", "chain-noauth"):
        print("  " + ("outside AUTHENTICATE " if k == "chain-noauth" else "") + line.split(" ", 1)[1].replace("arch=", "").replace(" bytes deepest:", " bytes:"))
    if k == "frame":
        pass
print("  largest frames:")
for arch in ("x86-64", "cortex-m4"):
    print("    %s: %s" % (arch, ", ".join("%s %s" % (kv["fn"], kv["bytes"]) for kv in get("frame", arch=arch))))

print()
emb = get("embedded")[0] if get("embedded") else {}
anc = get("anchor_need")[0] if get("anchor_need") else {}
arm = {c["cfg"]: c for c in cfgs}
print("Least RAM for a working session, Cortex-M4 (examples/embedded.c's limits):")
try:
    cl = int(arm["cortex-m4-embedded"]["imap_client"])
    mem = int(emb["min_mem"])
    tls = int(arm["cortex-m4-embedded-mono"]["imap_tls"])
    an = int(anc["needed"])
    print("  without TLS: sizeof(imap_client) %d + smallest buffer embedded.c runs with %d = %d bytes" % (cl, mem, cl + mem))
    print("  with BearSSL: + sizeof(imap_tls) %d (BR_SSL_BUFSIZE_MONO) + anchors for one RSA-2048 CA %d = %d bytes"
          % (tls, an, cl + mem + tls + an))
except (KeyError, ValueError) as e:
    print("  (missing figure: %s)" % e)
print("  (plus the stack above; code in flash)")

print()
print("For comparison (x86-64 shared libraries as Debian ships them):")
for kv in get("lib"):
    print("  %-22s file %8s bytes; text %s data %s bss %s" % (kv["file"], kv["bytes"], kv["text"], kv["data"], kv["bss"]))
