/* Argument checks (validate.c), made before anything is sent. Pure
 * functions of their input. Never installed. */
#ifndef LB_VALIDATE_H
#define LB_VALIDATE_H

#include "litterbox.h"

/* Each returns LB_OK or LB_ERR_INVALID with a message naming what. */
lb_code check_base_url(const char *url, lb_error *err);
lb_code check_header_value(const char *what, const char *value, int allow_empty, lb_error *err);
lb_code check_token(const char *token, lb_error *err);
lb_code check_host_id(const char *what, const char *id, lb_error *err);
lb_code check_proxy_name(const char *name, lb_error *err);
lb_code check_idempotency_key(const char *key, lb_error *err);
lb_code check_env(const char *const *env, lb_error *err);
lb_code check_optional_string(const char *what, const char *value, lb_error *err);
lb_code check_utf8(const char *what, const char *value, lb_error *err);
lb_code check_proxy_headers(const char *const *headers, lb_error *err);

#endif
