/* The result codes' names and families (docs/api.md, Result codes). */
#include "util.h"

static const struct {
    const char *name;
    int api_error;
} code_table[] = {
    [LB_OK] = {"ok", 0},
    [LB_ERR_INVALID] = {"invalid", 0},
    [LB_ERR_NOMEM] = {"nomem", 0},
    [LB_ERR_AUTH] = {"auth", 1},
    [LB_ERR_NOT_FOUND] = {"not_found", 1},
    [LB_ERR_CONFLICT] = {"conflict", 1},
    [LB_ERR_VALIDATION] = {"validation", 1},
    [LB_ERR_PROVISIONING] = {"provisioning", 1},
    [LB_ERR_UNAVAILABLE] = {"unavailable", 0},
    [LB_ERR_RESPONSE] = {"response", 1},
    [LB_ERR_CANCELLED] = {"cancelled", 0},
};

static int code_known(lb_code code)
{
    return (unsigned)code < sizeof code_table / sizeof code_table[0];
}

const char *lb_code_name(lb_code code)
{
    return code_known(code) ? code_table[code].name : "unknown";
}

int lb_code_is_api_error(lb_code code)
{
    return code_known(code) && code_table[code].api_error;
}

int lb_code_is_retryable(lb_code code)
{
    return code == LB_ERR_UNAVAILABLE;
}

const char *lb_version(void)
{
    return LB_VERSION;
}
