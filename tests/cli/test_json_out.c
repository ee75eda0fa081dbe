/* The --json writer (cli/json_out.c) in-process: a table of values and the
 * exact JSON each must become, every document read back by yajl as an
 * oracle, and every allocation failed in turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "json_out.h"

/* One string value and the JSON text it must be written as. */
static const struct {
    const char *name, *in, *want;
} strings[] = {
    {"empty", "", "\"\""},
    {"plain", "sb-0123456789ab", "\"sb-0123456789ab\""},
    {"quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\""},
    {"newline, return, tab", "a\nb\rc\td", "\"a\\nb\\rc\\td\""},
    {"other control bytes", "\x01\x1b[2J\x1f", "\"\\u0001\\u001b[2J\\u001f\""},
    {"DEL is no control byte in JSON", "a\x7f", "\"a\x7f\""},
    {"slash kept", "a/b", "\"a/b\""},
    {"two-byte UTF-8", "gr\xc3\xbc\xc3\x9f", "\"gr\xc3\xbc\xc3\x9f\""},
    {"three-byte UTF-8", "\xe2\x80\xa6", "\"\xe2\x80\xa6\""},
    {"four-byte UTF-8", "\xf0\x9f\x90\x88", "\"\xf0\x9f\x90\x88\""},
    {"a lone continuation byte", "a\x80z", "\"a\\ufffdz\""},
    {"a cut sequence at the end", "a\xe2\x80", "\"a\\ufffd\\ufffd\""},
    {"an overlong slash", "\xc0\xaf", "\"\\ufffd\\ufffd\""},
    {"a surrogate in UTF-8", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
    {"beyond U+10FFFF", "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
};

/** Write one document through @p grow; @return what json_end returned,
 *  the text in @p text (caller frees). */
static int write_doc(void *(*grow)(void *, size_t), char **text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_out j;
    json_begin(&j, grow);
    json_object_open(&j);
    json_key(&j, "id");
    json_string(&j, "6f1c2a4e-0000-4000-8000-000000000001");
    json_key(&j, "port");
    json_integer(&j, 2222);
    json_key(&j, "negative");
    json_integer(&j, -9223372036854775807LL - 1);
    json_key(&j, "none");
    json_string_or_null(&j, NULL);
    json_key(&j, "null");
    json_null(&j);
    json_key(&j, "yes");
    json_bool(&j, 1);
    json_key(&j, "no");
    json_bool(&j, 0);
    json_key(&j, "empty");
    json_array_open(&j);
    json_array_close(&j);
    json_key(&j, "list");
    json_array_open(&j);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        json_string(&j, strings[i].in);
    json_object_open(&j);
    json_object_close(&j);
    json_array_close(&j);
    json_object_close(&j);
    int rc = json_end(&j, f);
    fclose(f);
    *text = buf;
    return rc;
}

static void test_strings(void)
{
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        check_set_case("string: %s", strings[i].name);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        json_out j;
        json_begin(&j, NULL);
        json_string(&j, strings[i].in);
        CHECK_EQ_INT(json_end(&j, f), 0);
        fclose(f);
        char want[256];
        snprintf(want, sizeof want, "%s\n", strings[i].want);
        CHECK_EQ_STR(buf, want);
        /* yajl reads it back as one string (DEL and U+FFFD included). */
        char why[128];
        yajl_val v = yajl_tree_parse(buf, why, sizeof why);
        if (CHECK(v != NULL) && CHECK(YAJL_IS_STRING(v)) && strings[i].in[0] &&
            !strchr(strings[i].want, '\\'))
            CHECK_EQ_STR(v->u.string, strings[i].in);
        yajl_tree_free(v);
        free(buf);
    }
}

static void test_document(void)
{
    check_set_case("a whole document: separators, nulls, nesting");
    char *text = NULL;
    CHECK_EQ_INT(write_doc(NULL, &text), 0);
    CHECK(strncmp(text,
                  "{\"id\":\"6f1c2a4e-0000-4000-8000-000000000001\",\"port\":2222,"
                  "\"negative\":-9223372036854775808,\"none\":null,\"null\":null,\"yes\":true,"
                  "\"no\":false,\"empty\":[],\"list\":[\"\",\"sb-0123456789ab\",",
                  110) == 0);
    CHECK(strstr(text, "\"\\ufffd\\ufffd\\ufffd\\ufffd\",{}]}\n") != NULL);
    char why[128];
    yajl_val v = yajl_tree_parse(text, why, sizeof why);
    if (!CHECK(v != NULL)) fprintf(stderr, "  not JSON (%s): %s\n", why, text);
    yajl_tree_free(v);
    free(text);
}

/* An allocator that fails from the n-th call on. */
static int grow_calls, grow_fail_at;
static void *failing_grow(void *p, size_t n)
{
    if (++grow_calls >= grow_fail_at) return NULL;
    return realloc(p, n);
}

static void test_out_of_memory(void)
{
    char *text = NULL;
    grow_calls = 0;
    grow_fail_at = 1 << 30;
    CHECK_EQ_INT(write_doc(failing_grow, &text), 0);
    free(text);
    int needed = grow_calls;
    CHECK(needed >= 2); /* the document outgrows the first buffer */
    for (int n = 1; n <= needed; n++) {
        check_set_case("allocation %d of %d fails", n, needed);
        grow_calls = 0;
        grow_fail_at = n;
        CHECK_EQ_INT(write_doc(failing_grow, &text), -1);
        CHECK_EQ_STR(text, ""); /* nothing, not half a document */
        free(text);
    }
}

int main(void)
{
    test_strings();
    test_document();
    test_out_of_memory();
    return check_summary();
}
