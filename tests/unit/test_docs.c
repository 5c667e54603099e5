/* The README shows the line protocol's generated diagram: it must be what
 * pfgen writes today, not a copy that drifted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_readme_diagram_is_generated(void **st)
{
    (void)st;
    const char *build = getenv("PF_BUILD");
    char path[512];
    snprintf(path, sizeof path, "%s/gen/line.dot", build ? build : "build");
    char *dot = pf_test_slurp(path, NULL);
    char *readme = pf_test_slurp("README.md", NULL);
    assert_non_null(dot);
    assert_non_null(readme);

    const char *body = strchr(dot, '\n'); /* skip the generated banner */
    assert_non_null(body);
    body++;
    const char *start = strstr(readme, "```dot\n");
    assert_non_null(start);
    start += 7;
    const char *end = strstr(start, "```");
    assert_non_null(end);
    if ((size_t)(end - start) != strlen(body) || memcmp(start, body, strlen(body))) {
        fprintf(stderr, "README.md's dot block differs from %s; paste the new one in\n", path);
        fail();
    }
    free(dot);
    free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_diagram_is_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
