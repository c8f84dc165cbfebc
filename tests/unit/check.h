/* check.h -- the unit tests' own tiny harness: checks that report file:line, a test list, a summary line. */
#ifndef GLANCE_CHECK_H
#define GLANCE_CHECK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What one test has seen so far; every test receives it as `chk`, so the CHECK macros need no globals. */
struct check {
    const char *test;
    unsigned failures;
};

struct check_case {
    const char *name;
    void (*fn)(struct check *chk);
};

/* Declares a test function: TEST(test_parse_u64_accepts_zero) { CHECK(...); } */
#define TEST(name) static void name(struct check *chk)

/* One entry of the list given to check_run: CHECK_CASE(test_parse_u64_accepts_zero). */
#define CHECK_CASE(name) {#name, name}

/* Each check evaluates to 1 when it holds and 0 when it fails, so a test can stop early:
 * if (!CHECK(p != NULL)) return; */
#define CHECK(cond) check_record(chk, (cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ_U64(actual, expected) check_eq_u64(chk, (actual), (expected), __FILE__, __LINE__, #actual, #expected)
#define CHECK_STR(actual, expected) check_str(chk, (actual), (expected), __FILE__, __LINE__, #actual, #expected)
/* Compares `len` bytes at `actual` (not NUL-terminated) with the NUL-terminated `expected`. */
#define CHECK_MEM_STR(actual, len, expected)                                                                       \
    check_mem_str(chk, (actual), (len), (expected), __FILE__, __LINE__, #actual)

static inline int check_record(struct check *chk, int ok, const char *file, int line, const char *expr)
{
    if (!ok) {
        ++chk->failures;
        fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", file, line, chk->test, expr);
    }
    return ok;
}

static inline int check_eq_u64(struct check *chk, uint64_t actual, uint64_t expected, const char *file, int line,
                               const char *actual_expr, const char *expected_expr)
{
    if (actual == expected)
        return 1;
    ++chk->failures;
    fprintf(stderr, "%s:%d: %s: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", file, line, chk->test, actual_expr,
            expected_expr, actual, expected);
    return 0;
}

static inline int check_str(struct check *chk, const char *actual, const char *expected, const char *file, int line,
                            const char *actual_expr, const char *expected_expr)
{
    if (actual != NULL && expected != NULL && strcmp(actual, expected) == 0)
        return 1;
    ++chk->failures;
    fprintf(stderr, "%s:%d: %s: %s == %s failed: \"%s\" != \"%s\"\n", file, line, chk->test, actual_expr,
            expected_expr, actual != NULL ? actual : "(null)", expected != NULL ? expected : "(null)");
    return 0;
}

static inline int check_mem_str(struct check *chk, const char *actual, size_t len, const char *expected,
                                const char *file, int line, const char *actual_expr)
{
    if (actual != NULL && len == strlen(expected) && memcmp(actual, expected, len) == 0)
        return 1;
    ++chk->failures;
    fprintf(stderr, "%s:%d: %s: %s failed:\n  got      \"%.*s\" (%zu bytes)\n  expected \"%s\" (%zu bytes)\n", file,
            line, chk->test, actual_expr, actual != NULL ? (int)len : 0, actual != NULL ? actual : "", len, expected,
            strlen(expected));
    return 0;
}

/* Runs every case in order, prints "N passed, N failed" (counting tests) and returns the exit code: 0 when
 * all passed, 1 otherwise. */
static inline int check_run(const struct check_case *cases, size_t n)
{
    size_t i, passed = 0, failed = 0;

    for (i = 0; i != n; ++i) {
        struct check chk = {cases[i].name, 0};
        cases[i].fn(&chk);
        if (chk.failures == 0) {
            ++passed;
        } else {
            ++failed;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define CHECK_RUN(cases) check_run((cases), sizeof(cases) / sizeof((cases)[0]))

#endif
