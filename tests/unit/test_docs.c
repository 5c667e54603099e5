/* The README shows generated diagrams: each ```dot block must be what pfgen
 * writes today for the machine it names, not a copy that drifted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_readme_diagrams_are_generated(void **st)
{
    (void)st;
    const char *build = getenv("PF_BUILD");
    char *readme = pf_test_slurp("README.md", NULL);
    assert_non_null(readme);
    int blocks = 0;
    for (const char *at = readme; (at = strstr(at, "```dot\n")); blocks++) {
        const char *start = at + 7;
        const char *end = strstr(start, "```");
        assert_non_null(end);
        char name[64];
        assert_int_equal(sscanf(start, "digraph \"%63[^\"]\"", name), 1);

        /* A protocol's default table or a service's. */
        char path[512];
        char *dot = NULL;
        for (int i = 0; i < 2 && !dot; i++) {
            snprintf(path, sizeof path, "%s/gen/%s/%s.dot", build ? build : "build",
                     i ? "services" : "protocols", name);
            dot = pf_test_slurp(path, NULL);
        }
        if (!dot)
            fprintf(stderr, "README.md shows machine %s, which pfgen does not generate\n", name);
        assert_non_null(dot);
        const char *body = strchr(dot, '\n'); /* skip the generated banner */
        assert_non_null(body);
        body++;
        if ((size_t)(end - start) != strlen(body) || memcmp(start, body, strlen(body))) {
            fprintf(stderr, "README.md's dot block for %s differs from %s; paste the new one in\n",
                    name, path);
            fail();
        }
        free(dot);
        at = end + 3;
    }
    assert_true(blocks >= 2); /* echo and smtp */
    free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_diagrams_are_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
