#ifndef FW_REQ_H
#define FW_REQ_H
/* One HTTP request as handlers see it. A request's allocations are released when it ends:
 * the body, the response, path parameters and anything registered with req_own(). */

#include "util/buf.h"
#include "util/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;
struct server;
struct auth;

#define REQ_MAX_PARAMS 6

struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method;
	char *path;             /* decoded path without the query string (owned) */
	char *raw_path;         /* the path exactly as sent, still percent-encoded (owned; SigV4) */
	char *raw_query;        /* the query string as sent, without '?', or NULL (owned; SigV4) */
	struct buf body;        /* request body, capped by the configured limit */
	bool body_too_big;
	const char *route;      /* matched pattern, for metrics ("/api/v1/incidents/{id}") */
	const char *params[REQ_MAX_PARAMS]; /* {…} segments of the matched pattern, in order */
	int nparams;
	struct auth *auth;      /* the authenticated caller, NULL on public routes */
	int64_t start_ns;

	/* Response: either JSON (resp) or raw bytes. */
	int status;
	json_t *resp;
	char *raw;
	size_t raw_len;
	const char *content_type;
	struct fw_error err;    /* set by req_fail(); rendered as {"error":{…}} */
	bool err_set;
	char *headers[8];       /* extra response headers, "Name: value" (owned) */
	int nheaders;
	void *owned[16];        /* freed at the end of the request */
	int nowned;
};

/* Sets a JSON response; takes ownership of j (steals the reference). Returns 0. */
int req_json(struct req *r, int status, json_t *j);
/* Sets a raw response; copies data. */
int req_raw(struct req *r, int status, const char *content_type, const char *data, size_t len);
/* Sets an error response {"error":{"code","message"}} and returns the matching FW_E* code. */
int req_fail(struct req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Copies e into the response as an error and returns the matching FW_E* code. */
int req_fail_from(struct req *r, const struct fw_error *e);
/* Adds a response header (copied). */
void req_header(struct req *r, const char *name, const char *value);

/* Authenticates the caller from "Authorization: Bearer <token>" or HTTP basic auth whose password
 * is a token, setting r->auth; on failure sets a 401 (challenge Basic when basic, else Bearer) or
 * 503 and returns its code. Normal routes get this from the server; own-auth routes call it. */
int req_authenticate(struct req *r, bool basic);
/* Query-string argument (decoded) or NULL; a request header (case-insensitive) or NULL. */
const char *req_arg(struct req *r, const char *name);
const char *req_hdr(struct req *r, const char *name);
/* Path parameter i of the matched pattern. */
const char *req_param(struct req *r, int i);
/* Parses the body as a JSON object (or array when allow_array); on failure sets the error
 * response. *out is a new reference released by the caller. */
int req_body_json(struct req *r, bool allow_array, json_t **out);
/* Parses the body as a JSON object and checks it against fields (util/jsonv.h); on any failure sets
 * the error response, leaves *out NULL and returns its code. optional: an empty body is fine (*out
 * stays NULL). *out is a new reference released by the caller. */
struct jv_field;
int req_body_fields(struct req *r, const struct jv_field *fields, bool optional, json_t **out);
/* Frees p when the request ends. Returns p. */
void *req_own(struct req *r, void *p);
/* Remote address as text. */
void req_peer(struct req *r, char *out, size_t cap);

#endif
