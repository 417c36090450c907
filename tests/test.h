/* test.h - the smallest test harness that does the job.
   TEST(name) defines a test; RUN(name) runs it; CHECK(cond) records a
   failure with its line and goes on; test_summary() prints the closing
   "N passed, N failed" line and returns the exit status. */
#ifndef TEST_H
#define TEST_H
#include <stdio.h>
#include <string.h>

static int test__passed, test__failed, test__cur_failed;
/* Fault-injection runs set this: a failed check it returns 1 for is
   expected (it came after the fault) and neither printed nor counted. */
static int (*test__absorb)(void);
#define TEST__FAILS() (!test__absorb || !test__absorb())

#define TEST(name) static void name(void)
#define CHECK(cond) do { if (!(cond) && TEST__FAILS()) { \
        printf("    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        test__cur_failed = 1; } } while (0)
#define CHECK_EQ_INT(a, b) do { long long test__a = (long long)(a), test__b = (long long)(b); \
        if (test__a != test__b && TEST__FAILS()) { \
        printf("    %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, test__a, #b, test__b); \
        test__cur_failed = 1; } } while (0)
#define CHECK_STR(s, cstr) do { imap_str test__s = (s); const char *test__c = (cstr); \
        if ((test__s.len != strlen(test__c) || (test__s.len && memcmp(test__s.ptr, test__c, test__s.len) != 0)) && \
            TEST__FAILS()) { \
        printf("    %s:%d: %s is \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, #s, \
               (int)test__s.len, test__s.ptr ? test__s.ptr : "", test__c); \
        test__cur_failed = 1; } } while (0)
#define RUN(name) do { test__cur_failed = 0; name(); \
        if (test__cur_failed) { test__failed++; printf("FAIL %s\n", #name); } \
        else { test__passed++; printf("ok   %s\n", #name); } } while (0)

static int test_summary(void)
{
    printf("%d passed, %d failed\n", test__passed, test__failed);
    return test__failed ? 1 : 0;
}
#endif
