/* See decode_support.h. A host decoder begins with its struct host_road
 * (decode.h), which is all this file knows of it. */
#include "decode_support.h"

void host_decoder_no_shortcut(host_decoder *d)
{
    ((struct host_road *)(void *)d)->shortcut = 0;
}

size_t host_decoder_shortcuts(const host_decoder *d)
{
    return ((const struct host_road *)(const void *)d)->shortcuts;
}

static lb_code decode_whole(const char *body, size_t len, int list, lb_host **one,
                            lb_host_list **many, lb_error *err)
{
    if (one)
        *one = NULL;
    if (many)
        *many = NULL;
    host_decoder *d = host_decoder_new(list);
    if (!d)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory decoding hosts");
    lb_code rc = host_decoder_feed(d, body, len, err);
    if (rc == LB_OK)
        rc = host_decoder_finish(d, one, many, err);
    host_decoder_free(d);
    return rc;
}

lb_code host_decode(const char *body, size_t len, lb_host **out, lb_error *err)
{
    return decode_whole(body, len, 0, out, NULL, err);
}

lb_code host_list_decode(const char *body, size_t len, lb_host_list **out, lb_error *err)
{
    return decode_whole(body, len, 1, NULL, out, err);
}
