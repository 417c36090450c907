/* The engine's model-based test (tests/model.h): seeded random runs of
   client calls against a random server on a fake clock, every invariant
   checked after every step. Bounded: MODEL_RUNS runs of MODEL_STEPS. A
   failing seed is printed; rerun it alone with ./test_model SEED. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"
#include "model.h"
#include <stdlib.h>

#ifndef MODEL_RUNS
#define MODEL_RUNS 5000
#endif
#define MODEL_STEPS 40

static model m;

TEST(random_call_sequences_keep_the_invariants)
{
    unsigned long long seed;
    int bad = 0;
    for (seed = 1; seed <= MODEL_RUNS && bad < 5; seed++) {
        if (model_run(&m, NULL, 0, seed, MODEL_STEPS)) {
            printf("    seed %llu: %s\n", seed, m.why);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        int rc;
        model_trace = argc > 2;
        rc = model_run(&m, NULL, 0, strtoull(argv[1], NULL, 10), MODEL_STEPS);
        printf("%s\n", rc ? m.why : "ok");
        return rc;
    }
    RUN(random_call_sequences_keep_the_invariants);
    return test_summary();
}
