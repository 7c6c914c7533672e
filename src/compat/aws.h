#ifndef FW_AWS_H
#define FW_AWS_H
/* The AWS JSON 1.1 endpoint (POST /, /aws, /aws/{anything}): SigV4 authentication with the caller's
 * access key, then dispatch on X-Amz-Target to the Support (compat/aws_support.c) and SSM OpsItems
 * (compat/aws_ssm.c) adapters. Errors are AWS shapes {"__type","message"|"Message"} with statuses the
 * aws CLI does not retry (400/403) for anything deterministic; 500 only for server faults. */

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct req;

/* One authenticated AWS call as the service adapters see it. The adapter sets either out (a JSON object,
 * owned by the call), or out_raw (the answer's JSON text, malloc'ed, owned by the call) when it writes
 * the text itself, or an error with aws_fail(). */
struct aws_call {
	struct req *r;        /* r->auth is the key's principal */
	const char *op;       /* operation, e.g. "CreateCase" */
	json_t *in;           /* the request object (borrowed) */
	const char *region;   /* region of the signature's scope */
	const char *key_account; /* account pinned on the access key, or "" */
	bool ssm;             /* error member is "Message" (SSM) rather than "message" (Support) */
	json_t *out;
	char *out_raw;
	size_t out_len;       /* bytes in out_raw */
	int status;           /* set by aws_fail() */
	json_t *error;        /* set by aws_fail() */
	struct {
		char id[40];
		char label[128];
	} names[8];           /* aws_principal_label() cache */
	int nnames;
};

/* Sets an AWS error on the call: {"__type": type, "message"|"Message": text} with HTTP status. extra (may be
 * NULL; stolen) adds members such as ParameterNames. Returns FW_EINVAL (FW_ESTORE for status >= 500). */
int aws_fail(struct aws_call *c, int status, const char *type, json_t *extra, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The account a new case or OpsItem belongs to (12 digits into out):
 *   1. `requested` when given (SSM AccountId): the caller needs perm on it;
 *   2. else the account pinned on the access key when it was created;
 *   3. else the one account the principal has role bindings on (a binding on "*" does not count).
 * Otherwise sets a ValidationException that says how to choose, and returns its code. */
int aws_call_account(struct aws_call *c, const char *requested, unsigned perm, char out[16]);

/* A principal's e-mail address (or its name, or the id when it is gone) for submittedBy / CreatedBy fields.
 * The string lives in c's small cache: copy it before the next call. */
const char *aws_principal_label(struct aws_call *c, const char *principal);

#endif
