/* The lexical pieces of JSON that the reader (json_stream.c) and the host
 * decoder's whole-record shortcut (host.c) share, so that a string or a
 * number has one definition: the string scan, the unescaping of plain
 * strings, the one-letter escapes, and the number grammar. (The plain-string
 * test, the integer parser and whitespace are inline in json_stream.h: the
 * shortcut calls them in its inner loop.) */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json_stream.h"
#include "util.h"

/* Byte classes inside a string: 0 plain ASCII, 1 ends the run ('"', '\\',
 * a control byte), 2 part of a multi-byte UTF-8 character. */
static const unsigned char string_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Strings are most of a host list, so their scan is the hot loop of both
 * roads: sixteen bytes a step with SSE2 (every x86-64 has it), else one
 * table load a byte. A step never reads past p + n. */
size_t json_plain_run(const unsigned char *p, size_t n, int *high)
{
    size_t i = 0;
    unsigned seen = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  control = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* unsigned v <= 0x1F exactly when max(v, 0x1F) == 0x1F */
        __m128i stop = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
        unsigned stops = (unsigned)_mm_movemask_epi8(stop);
        unsigned highs = (unsigned)_mm_movemask_epi8(v); /* bytes >= 0x80 */
        if (stops) {
            unsigned at = (unsigned)__builtin_ctz(stops);
            seen |= highs & ((1u << at) - 1);
            *high = seen != 0;
            return i + at;
        }
        seen |= highs;
        i += 16;
    }
#endif
    while (i < n) {
        unsigned c = string_class[p[i]];
        if (c & 1)
            break;
        seen |= c;
        i++;
    }
    *high = seen != 0;
    return i;
}

int json_escape_byte(unsigned char letter)
{
    switch (letter) {
    case '"':
    case '\\':
    case '/':
        return letter;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return -1;
    }
}

size_t json_unescape(char *dst, const char *src, size_t len)
{
    size_t out = 0;
    for (;;) {
        const char *bs = memchr(src, '\\', len);
        size_t run = bs ? (size_t)(bs - src) : len;
        memcpy(dst + out, src, run);
        out += run;
        if (!bs)
            return out;
        dst[out++] = (char)json_escape_byte((unsigned char)bs[1]);
        src = bs + 2;
        len -= run + 2;
    }
}

static size_t skip_digits(const char *p, size_t i, size_t n)
{
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    return i;
}

int json_number_valid(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i == n)
        return 0;
    if (p[i] == '0')
        i++;
    else if (p[i] >= '1' && p[i] <= '9')
        i = skip_digits(p, i, n);
    else
        return 0;
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        if ((i = skip_digits(p, i, n)) == start)
            return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t start = i;
        if ((i = skip_digits(p, i, n)) == start)
            return 0;
    }
    return i == n;
}
