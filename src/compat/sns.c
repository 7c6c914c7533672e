/* CloudWatch alarms delivered by SNS over HTTP(S) (PROTOCOLS.md 6.1, 6.2).
 *
 * SNS posts a JSON envelope with Content-Type text/plain. Credentials come from the subscription
 * URL's userinfo (https://sns:KEY@host/sns): KEY is an SNS integration key (POST
 * /api/v1/integrations {"type":"sns"}), which names the account and may carry the signing
 * certificate; or a token. When the integration has a certificate, every message must carry a
 * valid SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) signature over SNS's canonical
 * string, or it is refused with 403 and nothing is recorded. The certificate is configured, never
 * downloaded from the message's SigningCertURL. Subscription confirmations are recorded in the
 * audit log with their SubscribeURL, which an operator opens to confirm (the daemon makes no
 * outbound calls on behalf of a message). */
#include "api/events.h"
#include "audit/audit.h"
#include "compat/evcompat.h"
#include "events/engine.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s;
}

/* Builds SNS's string to sign: "Name\nValue\n" for each signed key present, in byte order. */
static int string_to_sign(const json_t *m, struct buf *b)
{
	static const char *const notif[] = { "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type", NULL };
	static const char *const conf[] = { "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
					    NULL };
	const char *type = str(m, "Type");
	const char *const *keys = type && !strcmp(type, "Notification") ? notif : conf;
	for (const char *const *k = keys; *k; k++) {
		const char *v = str(m, *k);
		if (!v) {
			if (!strcmp(*k, "Subject"))
				continue;
			return FW_EINVAL;
		}
		buf_printf(b, "%s\n%s\n", *k, v);
	}
	return 0;
}

/* Returns 0 when m is signed by cert_pem, FW_EAUTH otherwise. */
static int verify(const json_t *m, const char *cert_pem)
{
	const char *ver = str(m, "SignatureVersion"), *sig64 = str(m, "Signature");
	if (!ver || !sig64 || (strcmp(ver, "1") && strcmp(ver, "2")))
		return FW_EAUTH;
	struct buf b = BUF_INIT(1 << 20);
	int rc = FW_EAUTH;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t sl = strlen(sig64);
	unsigned char *sig = malloc(sl + 4);
	if (!sig || string_to_sign(m, &b))
		goto out;
	int n = EVP_DecodeBlock(sig, (const unsigned char *)sig64, (int)sl);
	if (n <= 0)
		goto out;
	while (sl > 0 && sig64[sl - 1] == '=') {
		sl--;
		n--;
	}
	bio = BIO_new_mem_buf(cert_pem, -1);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	pk = x ? X509_get_pubkey(x) : NULL;
	ctx = EVP_MD_CTX_new();
	if (!pk || !ctx)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, !strcmp(ver, "1") ? EVP_sha1() : EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerifyUpdate(ctx, b.data, b.len) == 1 && EVP_DigestVerifyFinal(ctx, sig, (size_t)n) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(bio);
	free(sig);
	buf_release(&b);
	return rc;
}

/* "arn:aws:cloudwatch:us-east-1:123456789012:alarm:name" -> "us-east-1" */
static void region_of_arn(const char *arn, char out[32])
{
	out[0] = '\0';
	if (!arn)
		return;
	const char *p = arn;
	for (int i = 0; i < 3 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (p)
		snprintf(out, 32, "%.*s", (int)strcspn(p, ":"), p);
}

static int cloudwatch_event(const json_t *msg, struct evt_event *ev, json_t **annot, struct fw_error *e)
{
	const char *name = str(msg, "AlarmName"), *state = str(msg, "NewStateValue");
	if (!name || !*name || !state)
		return fw_fail(e, 422, "invalid_field", "the CloudWatch alarm message needs AlarmName and NewStateValue");
	if (strcmp(state, "ALARM") && strcmp(state, "OK") && strcmp(state, "INSUFFICIENT_DATA"))
		return fw_fail(e, 422, "invalid_field", "NewStateValue '%.40s' is not ALARM, OK or INSUFFICIENT_DATA", state);
	evt_labels_init(&ev->labels);
	char region[32];
	region_of_arn(str(msg, "AlarmArn"), region);
	evt_labels_set(&ev->labels, "alertname", name);
	if (region[0])
		evt_labels_set(&ev->labels, "region", region);
	if (str(msg, "AWSAccountId") && *str(msg, "AWSAccountId"))
		evt_labels_set(&ev->labels, "aws_account", str(msg, "AWSAccountId"));
	json_t *an = json_object();
	*annot = an;
	const json_t *tr = json_object_get(msg, "Trigger");
	if (str(msg, "NewStateReason"))
		json_object_set_new(an, "summary", json_string(str(msg, "NewStateReason")));
	if (str(msg, "AlarmDescription") && *str(msg, "AlarmDescription"))
		json_object_set_new(an, "description", json_string(str(msg, "AlarmDescription")));
	json_object_set_new(an, "state", json_string(state));
	if (str(tr, "MetricName"))
		json_object_set_new(an, "metric", json_string(str(tr, "MetricName")));
	if (str(tr, "Namespace"))
		json_object_set_new(an, "namespace", json_string(str(tr, "Namespace")));
	struct buf dims = BUF_INIT(4096);
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(tr, "Dimensions"), i, it)
		buf_printf(&dims, "%s%s=%s", i ? "," : "", str(it, "name") ? str(it, "name") : "",
			   str(it, "value") ? str(it, "value") : "");
	if (dims.len)
		json_object_set_new(an, "dimensions", json_string(buf_str(&dims)));
	buf_release(&dims);
	int64_t t = 0;
	if (str(msg, "StateChangeTime") && !time_parse_rfc3339(str(msg, "StateChangeTime"), &t))
		ev->starts_at = t;
	ev->source = "cloudwatch";
	/* OK resolves. INSUFFICIENT_DATA is not an alarm condition but not proof of health either: it
	 * keeps an alarm of this name firing, at info severity (a rule can classify it). */
	if (!strcmp(state, "OK"))
		ev->ends_at = t && t <= time_now_ms() ? t : time_now_ms();
	ev->severity = !strcmp(state, "ALARM") ? "high" : !strcmp(state, "INSUFFICIENT_DATA") ? "info" : NULL;
	if (ev->ends_at && ev->starts_at > ev->ends_at)
		ev->starts_at = 0;
	return 0;
}

struct conf_ctx {
	const char *account, *actor;
	json_t *rec;
};

static int conf_tx(struct store_conn *c, void *arg)
{
	struct conf_ctx *x = arg;
	return audit_append(c, x->actor, x->account, "sns.subscription", str(x->rec, "TopicArn"), NULL, x->rec);
}

int sns_post(struct req *r)
{
	char account[16] = "", service[128], type[16];
	char *cert = NULL;
	bool by_key = false;
	int rc;
	/* The password of basic auth (or a bearer) is first tried as an SNS integration key. */
	const char *h = req_hdr(r, "Authorization");
	char secret[256] = "";
	if (h && !strncasecmp(h, "Bearer ", 7)) {
		snprintf(secret, sizeof(secret), "%s", h + 7);
	} else if (h && !strncasecmp(h, "Basic ", 6)) {
		char *pass = NULL, *user = MHD_basic_auth_get_username_password(r->conn, &pass);
		if (pass)
			snprintf(secret, sizeof(secret), "%s", pass);
		MHD_free(user);
		MHD_free(pass);
	}
	if (secret[0] && !evt_integration_lookup(r, secret, account, service, type, &cert) && !strcmp(type, "sns"))
		by_key = true;
	explicit_bzero(secret, sizeof(secret));
	if (!by_key) {
		free(cert);
		cert = NULL;
		if ((rc = evt_api_auth(r)))
			return rc;
	}
	json_error_t je;
	json_t *m = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je), *an = NULL, *inner = NULL;
	struct evt_event ev = { 0 };
	struct fw_error e;
	const char *actor = by_key ? "sns" : r->auth->principal;
	if (!json_is_object(m)) {
		rc = req_fail(r, 400, "invalid_json", "the SNS message is not a JSON object (line %d: %s)", je.line, je.text);
		goto out;
	}
	const char *t = str(m, "Type"), *hdr = req_hdr(r, "x-amz-sns-message-type");
	if (!t || (hdr && strcmp(hdr, t))) {
		rc = req_fail(r, 400, "invalid_message", "the SNS message Type is missing or disagrees with x-amz-sns-message-type");
		goto out;
	}
	if (cert && verify(m, cert)) {
		rc = req_fail(r, 403, "bad_signature", "the SNS message signature does not verify against the configured certificate");
		goto out;
	}
	if (!strcmp(t, "SubscriptionConfirmation") || !strcmp(t, "UnsubscribeConfirmation")) {
		if (!account[0] && (rc = evt_api_event_account(r, NULL, account, &e))) {
			req_fail_from(r, &e);
			goto out;
		}
		json_t *rec = json_pack("{s:s,s:s,s:s}", "type", t, "topic", str(m, "TopicArn") ? str(m, "TopicArn") : "",
					"subscribe_url", str(m, "SubscribeURL") ? str(m, "SubscribeURL") : "");
		struct conf_ctx x = { account, actor, rec };
		rc = store_write(r->srv->store, conf_tx, &x);
		json_decref(rec);
		if (!rc)
			req_json(r, 200, json_pack("{s:s,s:s}", "status", "recorded", "message",
						   "open the SubscribeURL (see the audit log) to confirm the subscription"));
		goto out;
	}
	if (strcmp(t, "Notification")) {
		rc = req_fail(r, 400, "invalid_message", "unknown SNS message Type '%.40s'", t);
		goto out;
	}
	const char *msg = str(m, "Message");
	inner = msg ? json_loads(msg, 0, &je) : NULL;
	if (json_is_object(inner) && json_object_get(inner, "AlarmName")) {
		rc = cloudwatch_event(inner, &ev, &an, &e);
	} else if (json_is_object(inner) && json_object_get(inner, "detail-type")) {
		rc = eb_event_from_envelope(inner, &ev, &an, &e);
	} else {
		evt_labels_init(&ev.labels);
		evt_labels_set(&ev.labels, "alertname", str(m, "Subject") && *str(m, "Subject") ? str(m, "Subject") : "SNS notification");
		if (str(m, "TopicArn"))
			evt_labels_set(&ev.labels, "topic", str(m, "TopicArn"));
		an = json_pack("{s:s}", "summary", msg ? msg : "");
		ev.source = "cloudwatch";
		rc = 0;
	}
	if (rc) {
		req_fail_from(r, &e);
		goto out;
	}
	if (!account[0]) {
		/* With a token: the AWS account of the alarm when the caller may use it, else the token's. */
		const char *aws = evt_labels_get(&ev.labels, "aws_account");
		if (!aws && json_is_object(inner))
			aws = str(inner, "account");
		if ((rc = evt_api_event_account(r, aws && (evt_api_perms(r, aws) & PERM_SUBMIT) ? aws : NULL, account, &e))) {
			req_fail_from(r, &e);
			goto out;
		}
	}
	snprintf(ev.account, sizeof(ev.account), "%s", account);
	ev.annotations = an;
	struct evt_result res;
	if ((rc = evt_ingest(&ev, 1, actor, &res)))
		goto out;
	char f[EVT_FINGERPRINT_LEN + 1];
	evt_fingerprint_format(res.fp, f);
	json_t *o = json_pack("{s:s,s:s,s:s}", "account", account, "fingerprint", f, "status", res.state);
	json_object_set_new(o, "incident", res.incident[0] ? json_string(res.incident) : json_null());
	req_json(r, 200, o);
out:
	evt_labels_release(&ev.labels);
	json_decref(an);
	json_decref(inner);
	json_decref(m);
	free(cert);
	return rc;
}
