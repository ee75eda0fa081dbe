/* The library's JSON reader (src/decode/json_stream.c) against a
 * conformance table in the manner of JSONTestSuite, its rows written here:
 * y_ rows must be read, n_ rows refused, i_ rows (where RFC 8259 lets a
 * parser choose) get this reader's documented choice. Every row runs whole,
 * split in two at every byte, and a byte at a time: each run must end with
 * the row's status and the same events; a row that names its events checks
 * them too. Then the rows too long to write out (nesting and number
 * limits), the callbacks' power to stop the reader, and the one integer
 * parser. No sockets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/json_stream.h"

/* ---- events as text ----
 * "{" "}" "[" "]", k:KEY, s:STRING, #NUMBER, t, f, n; one space between.
 * Bytes outside printable ASCII as \xNN. */

typedef struct trace {
    char *text;
    size_t len, cap;
    int stop_at_string; /* a string callback returns 0 */
} trace;

static void put(trace *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->text, cap);
        if (!p)
            abort();
        t->text = p;
        t->cap = cap;
    }
    memcpy(t->text + t->len, s, n);
    t->len += n;
    t->text[t->len] = '\0';
}

static void put_event(trace *t, const char *tag, const void *bytes, size_t n)
{
    if (t->len)
        put(t, " ", 1);
    put(t, tag, strlen(tag));
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) {
        char hex[8];
        if (p[i] >= 0x20 && p[i] < 0x7F)
            put(t, (const char *)p + i, 1);
        else
            put(t, hex, (size_t)snprintf(hex, sizeof hex, "\\x%02X", p[i]));
    }
}

static int ev_null(void *ctx)
{
    put_event(ctx, "n", NULL, 0);
    return 1;
}

static int ev_boolean(void *ctx, int value)
{
    put_event(ctx, value ? "t" : "f", NULL, 0);
    return 1;
}

static int ev_number(void *ctx, const char *text, size_t len)
{
    put_event(ctx, "#", text, len);
    return 1;
}

static int ev_string(void *ctx, const unsigned char *s, size_t len)
{
    put_event(ctx, "s:", s, len);
    return !((trace *)ctx)->stop_at_string;
}

static int ev_key(void *ctx, const unsigned char *s, size_t len)
{
    put_event(ctx, "k:", s, len);
    return 1;
}

static int ev_start_map(void *ctx)
{
    put_event(ctx, "{", NULL, 0);
    return 1;
}

static int ev_end_map(void *ctx)
{
    put_event(ctx, "}", NULL, 0);
    return 1;
}

static int ev_start_array(void *ctx)
{
    put_event(ctx, "[", NULL, 0);
    return 1;
}

static int ev_end_array(void *ctx)
{
    put_event(ctx, "]", NULL, 0);
    return 1;
}

static const json_events events = {
    .null = ev_null,
    .boolean = ev_boolean,
    .number = ev_number,
    .string = ev_string,
    .start_map = ev_start_map,
    .map_key = ev_key,
    .end_map = ev_end_map,
    .start_array = ev_start_array,
    .end_array = ev_end_array,
};

/* Feeds s a copy of p[0..n) of exactly that size (so that ASan sees a read
 * past it), scribbled over afterwards (the reader keeps no pointer into a
 * chunk). */
static json_status feed_copy(json_stream *s, const char *p, size_t n)
{
    char *piece = malloc(n ? n : 1);
    if (!piece)
        abort();
    memcpy(piece, p, n);
    json_status st = json_stream_feed(s, piece, n);
    memset(piece, '#', n);
    free(piece);
    return st;
}

/* Events that record nothing: for the rows of a million brackets. */
static int quiet_mark(void *ctx)
{
    (void)ctx;
    return 1;
}

static const json_events quiet = {
    .start_array = quiet_mark,
    .end_array = quiet_mark,
};

/* One run: the first `first` bytes of body (0: an empty chunk), then the
 * rest in pieces of `step` bytes (0: in one), then finish. A failure must
 * explain itself and stick. */
static json_status run(const json_events *ev, trace *t, const char *body, size_t len,
                       size_t first, size_t step)
{
    json_stream *s = json_stream_new(ev, t);
    if (!s)
        abort();
    size_t off = first < len ? first : len;
    json_status st = feed_copy(s, body, off);
    while (st == JSON_OK && off < len) {
        size_t n = step && step < len - off ? step : len - off;
        st = feed_copy(s, body + off, n);
        off += n;
    }
    if (st == JSON_OK)
        st = json_stream_finish(s);
    if (st != JSON_OK) {
        CHECK(json_stream_error(s)[0] != '\0');
        CHECK_EQ_INT(json_stream_feed(s, "[]", 2), st);
        CHECK_EQ_INT(json_stream_finish(s), st);
    }
    json_stream_free(s);
    return st;
}

/* ---- the table ---- */

typedef struct row {
    int line;
    const char *name;
    const char *body;
    size_t len;
    json_status want;
    const char *events; /* the whole run's events, or NULL */
} row;

#define ROW(name, lit, want, events) {__LINE__, name, lit, sizeof lit - 1, want, events}

static const row rows[] = {
    /* structure */
    ROW("y_object_empty", "{}", JSON_OK, "{ }"),
    ROW("y_array_empty", "[]", JSON_OK, "[ ]"),
    ROW("y_object_one_member", "{\"a\":1}", JSON_OK, "{ k:a #1 }"),
    ROW("y_object_members", "{\"a\":\"b\",\"c\":[null,true,false]}", JSON_OK,
        "{ k:a s:b k:c [ n t f ] }"),
    ROW("y_object_duplicate_keys", "{\"a\":1,\"a\":2}", JSON_OK, "{ k:a #1 k:a #2 }"),
    ROW("y_object_empty_key", "{\"\":0}", JSON_OK, "{ k: #0 }"),
    ROW("y_object_escaped_key", "{\"a\\nb\":0}", JSON_OK, "{ k:a\\x0Ab #0 }"),
    ROW("y_array_nested", "[[[]],{}]", JSON_OK, "[ [ [ ] ] { } ]"),
    ROW("y_array_every_kind", "[1,\"a\",null,true,false,{},[]]", JSON_OK,
        "[ #1 s:a n t f { } [ ] ]"),
    ROW("y_object_in_object", "{\"a\":{\"b\":{}}}", JSON_OK, "{ k:a { k:b { } } }"),
    /* whitespace: space, tab, CR, LF only */
    ROW("y_whitespace_all_four", " \t\r\n[ 1 ,\t2\r]\n", JSON_OK, "[ #1 #2 ]"),
    ROW("y_whitespace_around_colon", "{ \"a\" : 1 }", JSON_OK, "{ k:a #1 }"),
    ROW("n_whitespace_vertical_tab", "[\v1]", JSON_SYNTAX, NULL),
    ROW("n_whitespace_form_feed", "[1\f]", JSON_SYNTAX, NULL),
    ROW("n_whitespace_form_feed_top", "\f{}", JSON_SYNTAX, NULL),
    ROW("n_whitespace_vertical_tab_after", "{}\v", JSON_SYNTAX, NULL),
    ROW("n_whitespace_nbsp", "[\xc2\xa0" "1]", JSON_SYNTAX, NULL),
    ROW("n_whitespace_nul", "[\0" "1]", JSON_SYNTAX, NULL),
    ROW("n_empty", "", JSON_SYNTAX, NULL),
    ROW("n_only_whitespace", " \n ", JSON_SYNTAX, NULL),
    /* commas, colons, brackets */
    ROW("n_array_trailing_comma", "[1,]", JSON_SYNTAX, NULL),
    ROW("n_array_leading_comma", "[,1]", JSON_SYNTAX, NULL),
    ROW("n_array_double_comma", "[1,,2]", JSON_SYNTAX, NULL),
    ROW("n_array_colon", "[\"a\":1]", JSON_SYNTAX, NULL),
    ROW("n_array_unclosed", "[1", JSON_SYNTAX, NULL),
    ROW("n_array_closed_by_brace", "[1}", JSON_SYNTAX, NULL),
    ROW("n_object_trailing_comma", "{\"a\":1,}", JSON_SYNTAX, NULL),
    ROW("n_object_missing_colon", "{\"a\" 1}", JSON_SYNTAX, NULL),
    ROW("n_object_missing_value", "{\"a\":}", JSON_SYNTAX, NULL),
    ROW("n_object_key_only", "{\"a\"}", JSON_SYNTAX, NULL),
    ROW("n_object_number_key", "{1:1}", JSON_SYNTAX, NULL),
    ROW("n_object_unquoted_key", "{a:1}", JSON_SYNTAX, NULL),
    ROW("n_object_single_quotes", "{'a':1}", JSON_SYNTAX, NULL),
    ROW("n_object_unclosed", "{\"a\":1", JSON_SYNTAX, NULL),
    ROW("n_object_closed_by_bracket", "{\"a\":1]", JSON_SYNTAX, NULL),
    ROW("n_structure_lone_close", "]", JSON_SYNTAX, NULL),
    ROW("n_structure_comment_after", "[1]/**/", JSON_SYNTAX, NULL),
    ROW("n_structure_comment_before", "/* c */[1]", JSON_SYNTAX, NULL),
    ROW("n_structure_line_comment", "[1]//", JSON_SYNTAX, NULL),
    /* trailing garbage */
    ROW("n_trailing_close", "[]]", JSON_SYNTAX, NULL),
    ROW("n_trailing_letter", "{}x", JSON_SYNTAX, NULL),
    ROW("n_trailing_second_value", "1 2", JSON_SYNTAX, NULL),
    ROW("n_trailing_second_array", "[] []", JSON_SYNTAX, NULL),
    ROW("n_trailing_unterminated_string", "{} \"abc", JSON_SYNTAX, NULL),
    ROW("n_trailing_after_literal", "nullx", JSON_SYNTAX, NULL),
    /* literals */
    ROW("y_literal_true", "true", JSON_OK, "t"),
    ROW("y_literal_false", " false ", JSON_OK, "f"),
    ROW("y_literal_null", "null", JSON_OK, "n"),
    ROW("n_literal_capital", "True", JSON_SYNTAX, NULL),
    ROW("n_literal_cut", "[tru]", JSON_SYNTAX, NULL),
    ROW("n_literal_cut_at_end", "nul", JSON_SYNTAX, NULL),
    ROW("n_literal_misspelt", "[truth]", JSON_SYNTAX, NULL),
    /* numbers */
    ROW("y_number_zero", "0", JSON_OK, "#0"),
    ROW("y_number_minus_zero", "-0", JSON_OK, "#-0"),
    ROW("y_number_in_array", "[-12,3]", JSON_OK, "[ #-12 #3 ]"),
    ROW("y_number_fraction", "1.5", JSON_OK, "#1.5"),
    ROW("y_number_zero_fraction", "[0.0]", JSON_OK, "[ #0.0 ]"),
    ROW("y_number_exponents", "[1e2,1E+2,1e-2,-1.5E10]", JSON_OK,
        "[ #1e2 #1E+2 #1e-2 #-1.5E10 ]"),
    ROW("y_number_before_brace", "{\"a\":7}", JSON_OK, "{ k:a #7 }"),
    ROW("n_number_leading_zero", "01", JSON_SYNTAX, NULL),
    ROW("n_number_minus_leading_zero", "[-01]", JSON_SYNTAX, NULL),
    ROW("n_number_plus", "+1", JSON_SYNTAX, NULL),
    ROW("n_number_starts_with_dot", "[.5]", JSON_SYNTAX, NULL),
    ROW("n_number_ends_with_dot", "[1.]", JSON_SYNTAX, NULL),
    ROW("n_number_dot_exponent", "1.e1", JSON_SYNTAX, NULL),
    ROW("n_number_empty_exponent", "[1e]", JSON_SYNTAX, NULL),
    ROW("n_number_signed_empty_exponent", "1e+", JSON_SYNTAX, NULL),
    ROW("n_number_two_dots", "[1.2.3]", JSON_SYNTAX, NULL),
    ROW("n_number_minus_alone", "[-]", JSON_SYNTAX, NULL),
    ROW("n_number_double_minus", "--1", JSON_SYNTAX, NULL),
    ROW("n_number_hex", "0x1", JSON_SYNTAX, NULL),
    ROW("n_number_infinity", "Infinity", JSON_SYNTAX, NULL),
    ROW("n_number_nan", "[NaN]", JSON_SYNTAX, NULL),
    ROW("i_number_huge_exponent", "[1e999999]", JSON_OK, "[ #1e999999 ]"),
    ROW("i_number_past_int64", "123456789012345678901234567890", JSON_OK,
        "#123456789012345678901234567890"),
    /* strings */
    ROW("y_string_empty", "\"\"", JSON_OK, "s:"),
    ROW("y_string_one_letter_escapes", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", JSON_OK,
        "[ s:\"\\/\\x08\\x0C\\x0A\\x0D\\x09 ]"),
    ROW("y_string_u_escape", "\"\\u00e9\\u00E9\"", JSON_OK, "s:\\xC3\\xA9\\xC3\\xA9"),
    ROW("y_string_u_escape_nul", "\"a\\u0000b\"", JSON_OK, "s:a\\x00b"),
    ROW("y_string_surrogate_pair", "\"\\ud83d\\ude00\"", JSON_OK, "s:\\xF0\\x9F\\x98\\x80"),
    ROW("y_string_utf8_two_three_four", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", JSON_OK,
        "s:\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80"),
    ROW("y_string_last_code_point", "\"\xf4\x8f\xbf\xbf\"", JSON_OK,
        "s:\\xF4\\x8F\\xBF\\xBF"),
    ROW("y_string_noncharacter", "\"\xef\xbf\xbf\"", JSON_OK, "s:\\xEF\\xBF\\xBF"),
    ROW("y_string_del", "\"\x7f\"", JSON_OK, "s:\\x7F"),
    ROW("y_string_long_plain", "[\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\"]", JSON_OK,
        "[ s:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ ]"),
    ROW("n_string_unclosed", "\"abc", JSON_SYNTAX, NULL),
    ROW("n_string_control_byte", "[\"a\x01" "b\"]", JSON_SYNTAX, NULL),
    ROW("n_string_raw_tab", "\"\t\"", JSON_SYNTAX, NULL),
    ROW("n_string_raw_newline", "[\"a\nb\"]", JSON_SYNTAX, NULL),
    ROW("n_string_nul", "\"a\0\"", JSON_SYNTAX, NULL),
    ROW("n_string_bad_escape", "\"\\x41\"", JSON_SYNTAX, NULL),
    ROW("n_string_escaped_quote_mark", "[\"\\'\"]", JSON_SYNTAX, NULL),
    ROW("n_string_short_u_escape", "\"\\u12\"", JSON_SYNTAX, NULL),
    ROW("n_string_u_escape_not_hex", "\"\\u12G4\"", JSON_SYNTAX, NULL),
    ROW("n_string_single_quotes", "['a']", JSON_SYNTAX, NULL),
    /* UTF-8 strictness */
    ROW("n_utf8_lone_continuation", "\"\x80\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_overlong_slash", "\"\xc0\xaf\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_overlong_three", "\"\xe0\x80\xaf\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_overlong_four", "\"\xf0\x80\x80\xaf\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_raw_surrogate", "\"\xed\xa0\x80\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_past_last_code_point", "\"\xf4\x90\x80\x80\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_f5_lead", "\"\xf5\x80\x80\x80\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_ff", "[\"a\xff\"]", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_cut_by_quote", "\"\xc3\"", JSON_BAD_UTF8, NULL),
    /* a lead byte whose character the body ends too soon to finish */
    ROW("n_utf8_lead_then_ascii", "\"\xf4" "5\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_three_byte_lead_then_quote", "\"\xe2\"", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_cut_by_end", "\"\xe2\x82", JSON_SYNTAX, NULL),
    ROW("n_utf8_in_key", "{\"\xe9\":1}", JSON_BAD_UTF8, NULL),
    ROW("n_utf8_after_escape", "\"\\n\xc0\x80\"", JSON_BAD_UTF8, NULL),
    ROW("i_utf8_bom", "\xef\xbb\xbf{}", JSON_SYNTAX, NULL),
    ROW("i_utf16_le_bom", "\xff\xfe[\0]\0", JSON_SYNTAX, NULL),
    /* lone surrogates in \u escapes read as U+FFFD */
    ROW("i_string_lone_high_surrogate", "\"\\ud800\"", JSON_OK, "s:\\xEF\\xBF\\xBD"),
    ROW("i_string_lone_low_surrogate", "\"\\udc00\"", JSON_OK, "s:\\xEF\\xBF\\xBD"),
    ROW("i_string_high_then_letter", "\"\\ud800x\"", JSON_OK, "s:\\xEF\\xBF\\xBDx"),
    ROW("i_string_high_then_escape", "\"\\ud800\\n\"", JSON_OK, "s:\\xEF\\xBF\\xBD\\x0A"),
    ROW("i_string_high_then_high_pair", "\"\\ud800\\ud800\\udc00\"", JSON_OK,
        "s:\\xEF\\xBF\\xBD\\xF0\\x90\\x80\\x80"),
    ROW("i_string_high_then_bmp", "\"\\ud800\\u0041\"", JSON_OK, "s:\\xEF\\xBF\\xBDA"),
    ROW("i_string_high_then_utf8", "\"\\udbff\xc3\xa9\"", JSON_OK,
        "s:\\xEF\\xBF\\xBD\\xC3\\xA9"),
    ROW("i_key_lone_surrogate", "{\"\\udfff\":0}", JSON_OK, "{ k:\\xEF\\xBF\\xBD #0 }"),
};

static void run_row(const row *r)
{
    trace whole = {0};
    check_set_case("%s (line %d) whole", r->name, r->line);
    json_status st = run(&events, &whole, r->body, r->len, r->len, 0);
    CHECK_EQ_INT(st, r->want);
    if (r->events)
        CHECK_EQ_STR(whole.text ? whole.text : "", r->events);
    /* Every split in two, and a byte at a time: the same status, the same
     * events (on failure too: the events before the fault). */
    for (size_t cut = 0; cut <= r->len + 1; cut++) {
        int bytewise = cut == r->len + 1;
        trace t = {0};
        check_set_case("%s (line %d) %s %zu", r->name, r->line,
                       bytewise ? "a byte at a time" : "split at", cut);
        json_status got = bytewise ? run(&events, &t, r->body, r->len, 1, 1)
                                   : run(&events, &t, r->body, r->len, cut, 0);
        if (!CHECK_EQ_INT(got, r->want) ||
            !CHECK_EQ_STR(t.text ? t.text : "", whole.text ? whole.text : ""))
            cut = r->len + 2; /* one report per row is enough */
        free(t.text);
    }
    free(whole.text);
}

/* ---- rows too long to write out ---- */

/* n opening brackets then n closing ones: read, or refused as too deep. */
static void test_depth(size_t n, json_status want)
{
    char *body = malloc(2 * n);
    if (!body)
        abort();
    memset(body, '[', n);
    memset(body + n, ']', n);
    static const size_t cuts[] = {1, 4096, 65536};
    for (size_t k = 0; k <= sizeof cuts / sizeof cuts[0]; k++) {
        size_t cut = k < sizeof cuts / sizeof cuts[0] ? cuts[k] : 2 * n;
        check_set_case("%s: %zu nested arrays, first piece %zu", want ? "i_structure_too_deep"
                                                                       : "i_structure_deep",
                       n, cut);
        trace t = {0};
        CHECK_EQ_INT(run(&quiet, &t, body, 2 * n, cut, 0), want);
        free(t.text);
    }
    free(body);
}

/* A number of n digits: read, or refused as too long. */
static void test_number_length(size_t n, json_status want)
{
    char *body = malloc(n + 2);
    if (!body)
        abort();
    body[0] = '[';
    memset(body + 1, '7', n);
    body[n + 1] = ']';
    for (size_t cut = 0; cut <= n + 2; cut += 37) {
        check_set_case("i_number_of_%zu_digits split at %zu", n, cut);
        trace t = {0};
        CHECK_EQ_INT(run(&events, &t, body, n + 2, cut, 0), want);
        free(t.text);
    }
    free(body);
}

/* ---- callbacks ---- */

static int stopping_string(void *ctx, const unsigned char *s, size_t len)
{
    (void)ctx, (void)s, (void)len;
    return 0;
}

static long take_or_stop(void *ctx, const unsigned char *p, size_t n)
{
    /* {"x":... is left to the events; {} is taken; {"stop"... stops. */
    (void)ctx;
    if (n >= 2 && p[1] == '}')
        return 2;
    if (n >= 3 && p[2] == 's')
        return -1;
    return 0;
}

static void test_callbacks(void)
{
    check_set_case("a callback's 0 stops the reader");
    json_events stopping = events;
    stopping.string = stopping_string;
    trace t = {0};
    CHECK_EQ_INT(run(&stopping, &t, "[1,\"a\",2]", 9, 9, 0), JSON_STOPPED);
    CHECK_EQ_STR(t.text, "[ #1");
    free(t.text);

    check_set_case("whole_object: taken, left to the events, or stop");
    json_events taking = events;
    taking.whole_object = take_or_stop;
    static const struct {
        const char *body;
        json_status want;
        const char *events;
    } cases[] = {
        {"[{},{}]", JSON_OK, "[ ]"},
        {"[{\"x\":1},{}]", JSON_OK, "[ { k:x #1 } ]"},
        {"{}", JSON_OK, ""},
        {"[{\"stop\":1}]", JSON_STOPPED, "["},
        {"[{} x]", JSON_SYNTAX, "["},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("whole_object on %s", cases[i].body);
        trace w = {0};
        size_t len = strlen(cases[i].body);
        CHECK_EQ_INT(run(&taking, &w, cases[i].body, len, len, 0), cases[i].want);
        CHECK_EQ_STR(w.text ? w.text : "", cases[i].events);
        free(w.text);
    }
}

/* ---- the one integer parser ---- */

static void test_integers(void)
{
    static const struct {
        const char *text;
        size_t end; /* (size_t)-1: no integer */
        long long value;
    } cases[] = {
        {"0", 1, 0},
        {"-0", 2, 0},
        {"7", 1, 7},
        {"-42,", 3, -42},
        {"01", 1, 0}, /* the caller sees the '1' that follows */
        {"1.5", 1, 1},
        {"2e3", 1, 2},
        {"9223372036854775807", 19, INT64_MAX},
        {"-9223372036854775808", 20, INT64_MIN},
        {"9223372036854775808", (size_t)-1, 0},
        {"-9223372036854775809", (size_t)-1, 0},
        {"18446744073709551616", (size_t)-1, 0},
        {"123456789012345678901234", (size_t)-1, 0},
        {"-", (size_t)-1, 0},
        {"", (size_t)-1, 0},
        {"+1", (size_t)-1, 0},
        {"a", (size_t)-1, 0},
        {"-a", (size_t)-1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("json_integer(\"%s\")", cases[i].text);
        long long v = -1;
        const char *s = cases[i].text;
        size_t end = json_integer((const unsigned char *)s, 0, strlen(s), &v);
        if (CHECK_EQ_INT(end, cases[i].end) && end != (size_t)-1)
            CHECK_EQ_INT(v, cases[i].value);
    }
    check_set_case("json_integer from an offset, within a bound");
    long long v = 0;
    CHECK_EQ_INT(json_integer((const unsigned char *)"x:123}", 2, 4, &v), 4);
    CHECK_EQ_INT(v, 12);
}

int main(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
    test_depth(1u << 20, JSON_OK);
    test_depth((1u << 20) + 1, JSON_TOO_DEEP);
    test_number_length(256, JSON_OK);
    test_number_length(257, JSON_TOO_LONG);
    test_callbacks();
    test_integers();
    check_set_case("%s", "");
    return check_summary();
}
