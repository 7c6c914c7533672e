/* The AWS JSON 1.1 endpoint: SigV4 → access key → principal → X-Amz-Target dispatch (see aws.h). */
#include "compat/aws.h"
#include "api/access_keys.h"
#include "api/api.h"
#include "compat/aws_ssm.h"
#include "compat/aws_support.h"
#include "compat/sigv4.h"
#include "config.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AWS_CT "application/x-amz-json-1.1"
#define MAX_HEADERS 64

int aws_fail(struct aws_call *c, int status, const char *type, json_t *extra, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(c->error);
	c->error = json_pack("{s:s,s:s}", "__type", type, c->ssm ? "Message" : "message", msg);
	if (extra) {
		json_object_update(c->error, extra);
		json_decref(extra);
	}
	c->status = status;
	return status >= 500 ? FW_ESTORE : FW_EINVAL;
}

int aws_call_account(struct aws_call *c, const char *requested, unsigned perm, char out[16])
{
	struct auth *a = c->r->auth;
	const char *acc = NULL;
	if (requested) {
		if (!api_account_id_ok(requested))
			return aws_fail(c, 400, c->ssm ? "OpsItemInvalidParameterException" : "ValidationException",
					c->ssm ? json_pack("{s:[s]}", "ParameterNames", "AccountId") : NULL,
					"AccountId '%.40s' must be 12 digits", requested);
		acc = requested;
	} else if (c->key_account[0]) {
		acc = c->key_account;
	} else {
		int n = 0;
		for (size_t i = 0; i < a->nbindings; i++) {
			if (!strcmp(a->bindings[i].account, "*") || (acc && !strcmp(acc, a->bindings[i].account)))
				continue;
			acc = a->bindings[i].account;
			n++;
		}
		if (n != 1)
			return aws_fail(c, 400, "ValidationException", NULL,
					"cannot tell which account this belongs to: principal %s has roles on %s; create "
					"the access key with an \"account\" (POST /api/v1/principals/{id}/access-keys)%s",
					a->principal, n ? "several accounts" : "no single account",
					c->ssm ? " or pass AccountId" : "");
	}
	unsigned p = auth_perms(c->r, acc);
	if ((p & perm) != perm) {
		if (c->ssm)
			return aws_fail(c, 400, "OpsItemAccessDeniedException", NULL,
					"your role on account %s does not allow this", acc);
		return aws_fail(c, 400, "AccessDeniedException", NULL, "your role on account %s does not allow this",
				acc);
	}
	snprintf(out, 16, "%s", acc);
	return 0;
}

/* Labels of principals, shared by all calls: describe-cases names a submitter per case and per
 * communication. Kept like the credential caches of http/auth.c: dropped when its generation moves
 * (principals changed on this daemon) and after LABEL_TTL_MS (changed by another daemon). */
#define LABEL_SLOTS 256
#define LABEL_TTL_MS 5000

struct label_slot {
	char id[40];
	char label[128];
	int64_t cached_at;
	uint64_t gen;
};

static pthread_mutex_t label_mu = PTHREAD_MUTEX_INITIALIZER;
static struct label_slot label_cache[LABEL_SLOTS];

static struct label_slot *label_slot_of(const char *id)
{
	unsigned h = 2166136261u;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &label_cache[h % LABEL_SLOTS];
}

/* The label of principal into out (128 bytes): from the shared cache, else from the store. */
static void label_lookup(struct aws_call *c, const char *principal, char *out)
{
	int64_t now = time_now_ms();
	uint64_t gen = auth_generation();
	struct label_slot *sl = label_slot_of(principal);
	bool cacheable = strlen(principal) < sizeof(sl->id);

	pthread_mutex_lock(&label_mu);
	bool hit = cacheable && sl->gen == gen && now - sl->cached_at < LABEL_TTL_MS && now >= sl->cached_at &&
		   !strcmp(sl->id, principal);
	if (hit)
		memcpy(out, sl->label, sizeof(sl->label));
	pthread_mutex_unlock(&label_mu);
	if (hit)
		return;

	snprintf(out, 128, "%s", principal);
	struct store_rows *rows;
	if (store_query(req_db(c->r), "SELECT email, name FROM principals WHERE id = $1", SARGS(ST(principal)), &rows))
		return; /* store trouble: answer with the id, cache nothing */
	if (store_next(rows) == 1) {
		const char *v = store_text(rows, 0) && *store_text(rows, 0) ? store_text(rows, 0) : store_text(rows, 1);
		if (v)
			snprintf(out, 128, "%s", v);
	}
	store_rows_free(rows);
	if (!cacheable)
		return;
	pthread_mutex_lock(&label_mu);
	snprintf(sl->id, sizeof(sl->id), "%s", principal);
	memcpy(sl->label, out, sizeof(sl->label));
	sl->cached_at = now;
	sl->gen = gen;
	pthread_mutex_unlock(&label_mu);
}

const char *aws_principal_label(struct aws_call *c, const char *principal)
{
	if (!principal)
		return "";
	for (int i = 0; i < c->nnames && i < 8; i++)
		if (!strcmp(c->names[i].id, principal))
			return c->names[i].label;
	int slot = c->nnames++ % 8;
	snprintf(c->names[slot].id, sizeof(c->names[slot].id), "%s", principal);
	label_lookup(c, principal, c->names[slot].label);
	return c->names[slot].label;
}

/* ---- the endpoint ---- */

struct hdrs {
	struct sigv4_header h[MAX_HEADERS];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdrs *hs = cls;
	if (hs->n == MAX_HEADERS) {
		hs->overflow = true;
		return MHD_NO;
	}
	hs->h[hs->n].name = key;
	hs->h[hs->n].value = value ? value : "";
	hs->n++;
	return MHD_YES;
}

/* Request ids only need to be unique: 64 random bits drawn once per process, then a counter (asking
 * the random generator on every request showed in profiles). */
static char rid_prefix[17];
static pthread_once_t rid_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t rid_seq;

static void rid_init(void)
{
	if (crypto_random_hex(8, rid_prefix, sizeof(rid_prefix)))
		snprintf(rid_prefix, sizeof(rid_prefix), "%016llx", (unsigned long long)time_now_ms());
}

static void request_id(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char hx[33];
	pthread_once(&rid_once, rid_init);
	uint64_t n = atomic_fetch_add(&rid_seq, 1);
	memcpy(hx, rid_prefix, 16);
	for (int i = 31; i >= 16; i--, n >>= 4)
		hx[i] = hex[n & 15];
	hx[32] = '\0';
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hx, hx + 8, hx + 12, hx + 16, hx + 20);
}

static int respond_raw(struct req *r, int status, const char *body, size_t len)
{
	char rid[37];
	request_id(rid);
	req_header(r, "x-amzn-RequestId", rid);
	return req_raw(r, status, AWS_CT, body, len);
}

static int respond(struct req *r, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s)
		return FW_ENOMEM;
	int rc = respond_raw(r, status, s, strlen(s));
	free(s);
	return rc;
}

static int respond_error(struct req *r, bool ssm, int status, const char *type, const char *msg)
{
	return respond(r, status, json_pack("{s:s,s:s}", "__type", type, ssm ? "Message" : "message", msg));
}

/* Which service a target belongs to; NULL when neither. */
static const char *target_op(const char *target, bool *ssm)
{
	static const char sup[] = "AWSSupport_20130415.", ssmp[] = "AmazonSSM.";
	if (!target)
		return NULL;
	if (!strncmp(target, sup, sizeof(sup) - 1)) {
		*ssm = false;
		return target + sizeof(sup) - 1;
	}
	if (!strncmp(target, ssmp, sizeof(ssmp) - 1)) {
		*ssm = true;
		return target + sizeof(ssmp) - 1;
	}
	return NULL;
}

static int h_aws(struct req *r)
{
	struct hdrs hs = { .n = 0 };
	struct sigv4_auth sa;
	struct fw_error e = { 0 };
	struct akey key;
	bool ssm = false;
	const char *target = req_hdr(r, "X-Amz-Target");
	const char *op = target_op(target, &ssm);
	int rc;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect, &hs);
	if (hs.overflow)
		return respond_error(r, ssm, 400, "IncompleteSignatureException", "too many request headers");
	struct sigv4_request sr = { r->method, r->raw_path, r->raw_query, hs.h, hs.n,
				    (const unsigned char *)r->body.data, r->body.len };
	if ((rc = sigv4_parse(&sr, &sa, &e)))
		return respond_error(r, ssm, e.status ? e.status : 400, e.code, e.message);
	rc = akey_signer(req_db(r), r->srv->cfg->data_dir, sa.access_key, sa.date, sa.region, sa.service, &key);
	if (rc == FW_ENOTFOUND)
		return respond_error(r, ssm, 400, "UnrecognizedClientException",
				     "The security token included in the request is invalid.");
	if (rc)
		return respond_error(r, ssm, 500, "InternalFailure", "the access key could not be read; try again");
	rc = sigv4_verify_key(&sr, &sa, key.signing_key, (time_t)(time_now_ms() / 1000), &e);
	akey_wipe(&key);
	if (rc)
		return respond_error(r, ssm, e.status ? e.status : 400, e.code[0] ? e.code : "InvalidSignatureException",
				     e.message);
	if (!sigv4_header_signed(&sa, "x-amz-target"))
		return respond_error(r, ssm, 400, "IncompleteSignatureException",
				     "X-Amz-Target must be among the SignedHeaders: it chooses the operation");
	rc = auth_principal(req_db(r), key.principal, &r->auth);
	if (rc == FW_EAUTH)
		return respond_error(r, ssm, 400, "UnrecognizedClientException",
				     "The security token included in the request is invalid.");
	if (rc)
		return respond_error(r, ssm, 500, "InternalFailure", "the store could not be read; try again");
	if (!op)
		return respond_error(r, ssm, 400, "UnknownOperationException",
				     "X-Amz-Target must be AWSSupport_20130415.<Operation> or AmazonSSM.<Operation>");

	json_t *in = NULL;
	if (r->body.len == 0) {
		in = json_object();
	} else {
		json_error_t je;
		in = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(in)) {
			json_decref(in);
			return respond_error(r, ssm, 400, "SerializationException",
					     "the request body must be a JSON object");
		}
	}
	struct aws_call c = { .r = r, .op = op, .in = in, .region = sa.region, .key_account = key.account, .ssm = ssm };
	rc = ssm ? aws_ssm_call(&c) : aws_support_call(&c);
	if (c.error) {
		rc = respond(r, c.status, c.error);
		c.error = NULL;
	} else if (c.out) {
		rc = respond(r, 200, c.out);
		c.out = NULL;
	} else if (c.out_raw) {
		rc = respond_raw(r, 200, c.out_raw, c.out_len);
	} else {
		rc = respond_error(r, ssm, 500, "InternalServerError",
				   rc == FW_ESTORE ? "the store failed; try again" : "the request could not be completed");
	}
	json_decref(c.out);
	free(c.out_raw);
	json_decref(in);
	return rc;
}

const struct route compat_aws_routes[] = {
	{ "POST", "/", h_aws, ROUTE_OWN_AUTH },
	{ "POST", "/aws", h_aws, ROUTE_OWN_AUTH },
	{ "POST", "/aws/{service}", h_aws, ROUTE_OWN_AUTH },
	{ NULL, NULL, NULL, 0 },
};
