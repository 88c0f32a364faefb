/* strtab: one copy per distinct string, found again after the table grows;
 * lengths and bytes both count; over-long strings are refused. */
#include "store/strtab.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(strtab, one_copy_per_value_across_growth)
{
    struct strtab t = {0};
    char name[32];
    const char *first[2000];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        struct strtab_entry *e = strtab_intern(&t, name, strlen(name));
        cr_assert_not_null(e);
        cr_assert_str_eq(e->s, name);
        e->total += i;
        first[i] = e->s;
    }
    cr_assert_eq(t.n, 2000);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        struct strtab_entry *e = strtab_intern(&t, name, strlen(name));
        cr_assert_eq(e->s, first[i], "a second copy of %s", name);
        cr_assert_eq(e->total, i, "the counters moved with the entry");
    }
    cr_assert_eq(t.n, 2000);
    strtab_free(&t);
    cr_assert_eq(t.n, 0);
}

Test(strtab, length_and_bytes_both_count)
{
    struct strtab t = {0};
    struct strtab_entry *a = strtab_intern(&t, "abc", 3);
    const char *as = a->s;
    struct strtab_entry *b = strtab_intern(&t, "abc", 2);
    cr_assert_str_eq(b->s, "ab");
    cr_assert_neq(strtab_intern(&t, "abd", 3)->s, as);
    cr_assert_eq(strtab_intern(&t, "", 0)->len, 0);
    cr_assert_eq(t.n, 4);
    char big[300];
    memset(big, 'x', sizeof(big));
    cr_assert_not_null(strtab_intern(&t, big, 255));
    cr_assert_null(strtab_intern(&t, big, 256));
    strtab_free(&t);
}
