/* The engine: one request on one libcurl easy handle, whoever drives it.
 * engine_setup configures the handle, the body is decoded as it arrives,
 * and engine_complete turns the outcome into r->code, r->error and
 * r->result. It knows nothing of the drivers above it. Never installed. */
#ifndef LB_ENGINE_H
#define LB_ENGINE_H

#include <curl/curl.h>

#include "request.h"

/* LB_OK, or the code in r->error when libcurl refused an option. */
lb_code engine_setup(lb_request *r, CURL *easy);
/* transport: the CURLcode the transfer ended with. */
void engine_complete(lb_request *r, CURL *easy, CURLcode transport);

#endif
