/* Shared by the C harnesses in tests/bench: load a corpus, time passes,
   read peak RSS, print one "result" line that report.py reads.

   Every harness reads the whole corpus into memory first and times only
   the parse. A run makes --warmup untimed passes (default 1: the heap,
   caches and page tables are then in the state a long-running client
   has), then timed passes until --min-time seconds have gone by (at least
   one pass); MB/s is total bytes over total time, with MB = 10^6 bytes. Peak RSS is getrusage's ru_maxrss; rss_base_kb is the
   same figure taken after the corpus was loaded and before the parser got
   any memory, so peak - base is what the parser itself added. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

typedef struct bench_args {
    const char *corpus;     /* path */
    const char *name;       /* label for the report */
    const char *parser;
    double min_time;        /* seconds of timed passes per run */
    int passes;             /* exact number of passes (0: use min_time) */
    size_t arena;           /* imap.h: arena bytes */
    size_t chunk;           /* bytes per feed */
    size_t sink_threshold;  /* imap.h: literals above this go to the sink */
    int warmup;             /* untimed passes first (default 1; callgrind: 0) */
    int touch;              /* imap.h: read every body byte once (--touch 1) */
} bench_args;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static unsigned char *bench_load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static size_t bench_size_arg(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K') v *= 1024;
    else if (*end == 'm' || *end == 'M') v *= 1024 * 1024;
    return (size_t)v;
}

/* --corpus F --name N [--min-time S] [--passes N] [--warmup N]
   [--arena SIZE] [--chunk SIZE] [--sink SIZE] [--parser P] */
static void bench_parse_args(int argc, char **argv, bench_args *a)
{
    int i;
    memset(a, 0, sizeof *a);
    a->min_time = 0.5;
    a->arena = 1024 * 1024;
    a->chunk = 64 * 1024;
    a->sink_threshold = 64 * 1024;
    a->warmup = 1;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--corpus")) a->corpus = argv[i + 1];
        else if (!strcmp(argv[i], "--name")) a->name = argv[i + 1];
        else if (!strcmp(argv[i], "--parser")) a->parser = argv[i + 1];
        else if (!strcmp(argv[i], "--min-time")) a->min_time = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--passes")) a->passes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--arena")) a->arena = bench_size_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--chunk")) a->chunk = bench_size_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--sink")) a->sink_threshold = bench_size_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) a->warmup = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--touch")) a->touch = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); exit(2); }
    }
    if (!a->corpus) { fprintf(stderr, "usage: %s --corpus FILE [options]\n", argv[0]); exit(2); }
    if (!a->name) a->name = a->corpus;
}

/* Should another pass run? */
static int bench_more(const bench_args *a, int done, double elapsed)
{
    if (a->passes > 0) return done < a->passes;
    return done == 0 || elapsed < a->min_time;
}

#endif
