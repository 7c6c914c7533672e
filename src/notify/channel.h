#ifndef FW_NTF_CHANNEL_H
#define FW_NTF_CHANNEL_H
/* Delivery over one channel: a webhook POST or an SMTP submission through libcurl. These do the I/O
 * only; retries, backoff and the delivery log belong to notify.c. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The outcome of one attempt. code is the HTTP status or the SMTP reply code (0 when no answer came);
 * error is a sentence when the attempt failed (empty on success). */
struct ntf_result {
	bool ok;
	bool permanent; /* retrying cannot help (4xx other than 408/429, a refused recipient) */
	long code;
	char error[256];
};

/* The HMAC-SHA256 signature of a webhook body: lowercase hex of HMAC(secret, timestamp "." body) into
 * out (cap >= 65). Receivers recompute it and compare in constant time. */
void ntf_webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len, char out[65]);

/* POSTs body (JSON) to url with the headers Content-Type, Idempotency-Key: key, X-Flywheel-Event,
 * X-Flywheel-Timestamp and X-Flywheel-Signature: sha256=<hex> (when secret is not NULL). timeout_ms caps
 * the whole attempt. Only http and https URLs are followed; redirects are not. */
void ntf_webhook_send(const char *url, const char *secret, const char *key, const char *event, const char *body,
		      long timeout_ms, struct ntf_result *out);

/* SMTP settings of an e-mail channel (borrowed strings). url is smtp://host:port or smtps://…;
 * starttls requires STARTTLS on smtp://; username/password enable AUTH when set. */
struct ntf_smtp {
	const char *url;
	const char *from;
	const char *username;
	const char *password;
	bool starttls;
	bool insecure; /* skip certificate checks (test servers with self-signed certificates) */
	long timeout_ms;
};

/* Sends one message with a plain-text and an HTML alternative (html may be NULL). message_id is used
 * for the Message-ID header so a receiver can drop a repeated delivery; key goes into
 * X-Flywheel-Idempotency-Key. */
void ntf_smtp_send(const struct ntf_smtp *s, const char *to, const char *subject, const char *text, const char *html,
		   const char *message_id, const char *key, struct ntf_result *out);

#endif
