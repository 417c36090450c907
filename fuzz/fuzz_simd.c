/* libFuzzer / AFL++ target: the parser's SIMD scanners against their
   scalar definitions, byte for byte.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_simd.c -o fuzz_simd
   Replay files without libFuzzer:
     cc -g -fsanitize=address,undefined -I. fuzz/fuzz_simd.c fuzz/main.c -o replay

   The parser finds the end of an atom and of a quoted string's plain run
   with SSE2 (x86-64) or NEON (ARM), 16 bytes at a time, and with a table
   loop under IMAP_NO_SIMD. Everything else it does is the same code in
   both builds, so the two parse identically if these scanners agree: for
   every input, every start offset (all of them for inputs up to 512
   bytes, else the first 256 and 256 more picked by the input) and both
   atom modes (inside a response code or not), each SIMD scanner must
   return the same position as the scalar one. The input is copied to a
   heap block of exactly its size, so ASan catches any read past the end.
   Built with -DIMAP_NO_SIMD both sides are the scalar code (a no-op). */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdlib.h>
#include <string.h>

static void check(const char *b, size_t n, size_t i)
{
    const char *s = b + i, *e = b + n;
    int in_code;
    if (imap__quoted_stop(s, e) != imap__quoted_stop_scalar(s, e)) abort();
    for (in_code = 0; in_code < 2; in_code++)
        if (imap__atom_end(s, e, in_code) != imap__atom_end_scalar(s, e, in_code)) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *b = (char *)malloc(size ? size : 1);
    size_t i, end;
    if (!b) return 0;
    if (size) memcpy(b, data, size);
    /* every end too, for short inputs: the scalar tail after the last
       whole 16-byte block */
    for (end = size; end + 48 > size && end > 0; end--) check(b, end, 0);
    if (size <= 512) {
        for (i = 0; i <= size; i++) check(b, size, i);
    } else {
        unsigned long long h = 1469598103934665603ull;
        for (i = 0; i < 256; i++) check(b, size, i);
        for (i = 0; i < 256; i++) {
            h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
            check(b, size, (size_t)(h % (size + 1)));
        }
    }
    free(b);
    return 0;
}
