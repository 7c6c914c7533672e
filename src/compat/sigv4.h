#ifndef FW_SIGV4_H
#define FW_SIGV4_H
/* AWS Signature Version 4 (header form, AWS4-HMAC-SHA256): server-side verification of requests signed by
 * aws-cli/botocore, and client-side signing for tests and load generators. Pure functions over a request
 * description: no I/O, no store, no global state; safe to call from any thread.
 *
 * Server flow:
 *     struct sigv4_auth a;
 *     if ((rc = sigv4_parse(&req, &a, &err)) < 0) reply(err);
 *     secret = lookup(a.access_key);   // unknown key: the caller answers UnrecognizedClientException
 *     if ((rc = sigv4_verify(&req, &a, secret, time(NULL), &err)) < 0) reply(err);
 *
 * Every authentication failure returns FW_EAUTH and fills struct fw_error with the AWS JSON-protocol error
 * code the client expects in `__type` (PROTOCOLS.md §4.3, §5):
 *     MissingAuthenticationTokenException  403  no Authorization header
 *     IncompleteSignatureException         400  Authorization or date header present but malformed
 *     InvalidSignatureException            400  signature mismatch, clock skew, scope date mismatch,
 *                                               body does not match x-amz-content-sha256
 * FW_ENOMEM / FW_EIO (status 500, InternalFailure) mean the server failed, not the client. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct fw_error;

/* Allowed distance between the request's timestamp and the server clock, either way (AWS: 15 minutes). */
#define SIGV4_MAX_SKEW_SECONDS 900

/* One request header as received. Names compare case-insensitively; a name may repeat (the values are
 * then joined with ',' in received order, as AWS does). Both strings are borrowed. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* The request to verify or sign. Every pointer is borrowed for the duration of the call only.
 * path is the raw path as received (already percent-encoded, without '?query'); NULL or "" means "/".
 * query is the raw query string without '?', or NULL. body may be NULL when body_len is 0. */
struct sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct sigv4_header *headers;
	size_t nheaders;
	const unsigned char *body;
	size_t body_len;
};

/* What sigv4_parse() read from the Authorization and date headers; plain values, no pointers into the
 * request. signature is normalised to lowercase hex. amz_date is always ISO-8601 basic
 * (YYYYMMDD'T'HHMMSS'Z'), also when it came from a Date header. */
struct sigv4_auth {
	char access_key[129];
	char date[9]; /* credential-scope date, YYYYMMDD */
	char region[64];
	char service[64];
	char signed_headers[1024]; /* exactly as received, e.g. "content-type;host;x-amz-date;x-amz-target" */
	char signature[65];
	char amz_date[17];
};

/* Reads `Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
 * SignedHeaders=a;b, Signature=<64 hex>` (parts in any order) and X-Amz-Date (or Date when X-Amz-Date is
 * absent) into *out. Checks the shape only: the scope date equals the request date, and SignedHeaders
 * names host and the date header. Any region and service are accepted; the caller decides.
 * Returns 0, or FW_EAUTH with err filled (see above). *out is meaningful only on success. */
int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *out, struct fw_error *err);

/* Recomputes the signature of req with secret and auth's scope and compares it in constant time.
 * Also enforces |request date - now| <= SIGV4_MAX_SKEW_SECONDS, that every signed header is present, and
 * that an x-amz-content-sha256 header, if any, equals the SHA-256 of the body (UNSIGNED-PAYLOAD and
 * streaming payloads are refused: the body must be covered). auth must come from sigv4_parse() on the same
 * request. secret is only read; derived keys are wiped before returning. Returns 0 when the request is
 * authentic, FW_EAUTH with err filled when not, FW_ENOMEM / FW_ETOOBIG / FW_EIO on internal failure. */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, const char *secret,
		 time_t now, struct fw_error *err);

/* The length of a derived signing key (kSigning: HMAC-SHA256). */
#define SIGV4_KEY_LEN 32

/* Derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") into
 * out. The key stands for the secret within one scope (a day, a region, a service), so a caller may keep
 * it and verify many requests of that scope with sigv4_verify_key(); it is as sensitive as the secret
 * for that day: wipe it (OPENSSL_cleanse) when done. Intermediate keys are wiped. Returns 0, FW_EINVAL
 * (secret over 256 bytes, or a NULL argument) or FW_EIO; out is zeroed on failure. */
int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
		      unsigned char out[SIGV4_KEY_LEN]);

/* sigv4_verify() with the signing key already derived for auth's scope (auth->date, region, service):
 * the same checks and results. key is only read. */
int sigv4_verify_key(const struct sigv4_request *req, const struct sigv4_auth *auth,
		     const unsigned char key[SIGV4_KEY_LEN], time_t now, struct fw_error *err);

/* Client side: signs req as botocore does and writes the Authorization header value into auth_out
 * (NUL-terminated). Every header in req is signed except Authorization and those botocore never signs
 * (user-agent, expect, connection, transfer-encoding, x-amzn-trace-id, amz-sdk-*, ...). req must carry
 * Host and either X-Amz-Date equal to amz_date (YYYYMMDD'T'HHMMSS'Z') or a Date header; this function
 * adds no headers. Returns 0, FW_EINVAL for bad arguments, FW_ETOOBIG when auth_cap is too small,
 * FW_ENOMEM or FW_EIO. */
int sigv4_sign(const struct sigv4_request *req, const char *access_key, const char *secret,
	       const char *region, const char *service, const char *amz_date, char *auth_out,
	       size_t auth_cap);

/* True when name (any case) is listed in auth->signed_headers. Callers use it to insist that headers
 * they act on are covered, e.g. X-Amz-Target, which selects the operation of a JSON 1.1 call. */
bool sigv4_header_signed(const struct sigv4_auth *auth, const char *name);

/* The canonical request (step 1 of the algorithm) for req and a SignedHeaders list, for debug logs and
 * tests. On success *out is a NUL-terminated string the caller must free(). Returns 0, or FW_EAUTH with
 * err filled when a signed header is missing, FW_ENOMEM, FW_ETOOBIG or FW_EIO. */
int sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers, char **out,
			    struct fw_error *err);

#endif
