/* libFuzzer / AFL++ target for the engine's model (tests/model.h): the
   input makes every choice of a run (server chunking, delays, drops,
   timeouts, which calls, from which callbacks, when time passes); when
   the bytes run out a generator seeded by the input's length goes on.
   A broken invariant aborts with what broke.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_model.c -o fuzz_model
   Replay files without libFuzzer:
     cc -g -I. fuzz/fuzz_model.c fuzz/main.c -o fuzz_model_replay */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "../tests/model.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static model m;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size > 4096) size = 4096;
    if (model_run(&m, data, size, size, 60)) {
        fprintf(stderr, "fuzz_model: %s\n", m.why);
        abort();
    }
    return 0;
}
