/* What only the tests and the fuzzer need of the decoders, kept out of the
 * library: the whole-body conveniences over the streaming host decoder, and
 * the switch that sends every record through the reader's events. */
#ifndef LB_DECODE_SUPPORT_H
#define LB_DECODE_SUPPORT_H

#include <stddef.h>

#include "decode/decode.h"

/* body[0..len) through a fresh host decoder in one feed: one host record, or
 * a JSON array of them. *out is NULL on failure. */
lb_code host_decode(const char *body, size_t len, lb_host **out, lb_error *err);
lb_code host_list_decode(const char *body, size_t len, lb_host_list **out, lb_error *err);
/* Makes every record of d go through the reader's events, as the library
 * does for records the shortcut leaves (the two roads must agree). */
void host_decoder_no_shortcut(host_decoder *d);
/* How many records of d took the shortcut so far. */
size_t host_decoder_shortcuts(const host_decoder *d);

#endif
