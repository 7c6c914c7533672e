#include "notify/channel.h"
#include "util/crypto.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ntf_webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len, char out[65])
{
	size_t tl = strlen(timestamp);
	char *msg = malloc(tl + 1 + len + 1);
	if (!msg) {
		out[0] = '\0';
		return;
	}
	memcpy(msg, timestamp, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	crypto_hmac_sha256_hex(secret, strlen(secret), msg, tl + 1 + len, out);
	free(msg);
}

/* Response bodies are not needed; capping what we read keeps a hostile receiver from costing memory. */
static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	size_t *total = ud;
	*total += sz * n;
	return *total > (1u << 20) ? 0 : sz * n;
}

static void fail(struct ntf_result *out, bool permanent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct ntf_result *out, bool permanent, const char *fmt, ...)
{
	out->ok = false;
	out->permanent = permanent;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

void ntf_webhook_send(const char *url, const char *secret, const char *key, const char *event, const char *body,
		      long timeout_ms, struct ntf_result *out)
{
	memset(out, 0, sizeof(*out));
	CURL *h = curl_easy_init();
	if (!h) {
		fail(out, false, "cannot create an HTTP client");
		return;
	}
	char ts[32], sig[65], hdr[4][160];
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(hdr[0], sizeof(hdr[0]), "Idempotency-Key: %s", key);
	snprintf(hdr[1], sizeof(hdr[1]), "X-Flywheel-Event: %s", event);
	snprintf(hdr[2], sizeof(hdr[2]), "X-Flywheel-Timestamp: %s", ts);
	hs = curl_slist_append(hs, hdr[0]);
	hs = curl_slist_append(hs, hdr[1]);
	hs = curl_slist_append(hs, hdr[2]);
	if (secret && *secret) {
		ntf_webhook_sign(secret, ts, body, strlen(body), sig);
		snprintf(hdr[3], sizeof(hdr[3]), "X-Flywheel-Signature: sha256=%s", sig);
		hs = curl_slist_append(hs, hdr[3]);
		OPENSSL_cleanse(sig, sizeof(sig));
	}
	hs = curl_slist_append(hs, "Expect:");
	size_t got = 0;
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "flywheel-notify/1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
	if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR) {
		fail(out, false, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (out->code >= 200 && out->code < 300) {
		out->ok = true;
	} else {
		bool perm = out->code >= 400 && out->code < 500 && out->code != 408 && out->code != 429;
		fail(out, perm, "receiver answered HTTP %ld", out->code);
	}
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
}

/* Copies s without CR and LF so a value can never start a new mail header. */
static void header_safe(char *out, size_t cap, const char *s)
{
	size_t j = 0;
	for (size_t i = 0; s && s[i] && j + 1 < cap; i++)
		if (s[i] != '\r' && s[i] != '\n')
			out[j++] = s[i];
	out[j] = '\0';
}

/* RFC 2047 encoded-word for a subject that is not plain ASCII. */
static void encode_subject(char *out, size_t cap, const char *s)
{
	char clean[400];
	header_safe(clean, sizeof(clean), s);
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)clean; *p; p++)
		if (*p >= 0x80)
			ascii = false;
	if (ascii) {
		snprintf(out, cap, "Subject: %s", clean);
		return;
	}
	unsigned char b64[560];
	EVP_EncodeBlock(b64, (const unsigned char *)clean, (int)strlen(clean));
	snprintf(out, cap, "Subject: =?UTF-8?B?%s?=", (const char *)b64);
}

void ntf_smtp_send(const struct ntf_smtp *s, const char *to, const char *subject, const char *text, const char *html,
		   const char *message_id, const char *key, struct ntf_result *out)
{
	memset(out, 0, sizeof(*out));
	CURL *h = curl_easy_init();
	if (!h) {
		fail(out, false, "cannot create an SMTP client");
		return;
	}
	char from_addr[300], to_addr[300], hdr[6][600];
	header_safe(to_addr, sizeof(to_addr), to);
	header_safe(from_addr, sizeof(from_addr), s->from);
	char rcpt_angle[310], from_angle[310];
	snprintf(rcpt_angle, sizeof(rcpt_angle), "<%s>", to_addr);
	snprintf(from_angle, sizeof(from_angle), "<%s>", from_addr);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char date[64];
	strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(hdr[0], sizeof(hdr[0]), "From: Flywheel <%s>", from_addr);
	snprintf(hdr[1], sizeof(hdr[1]), "To: <%s>", to_addr);
	encode_subject(hdr[2], sizeof(hdr[2]), subject);
	snprintf(hdr[3], sizeof(hdr[3]), "Message-ID: <%s@flywheel>", message_id);
	snprintf(hdr[4], sizeof(hdr[4]), "X-Flywheel-Idempotency-Key: %s", key);
	struct curl_slist *hs = curl_slist_append(NULL, date);
	for (int i = 0; i < 5; i++)
		hs = curl_slist_append(hs, hdr[i]);
	struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_angle);

	curl_mime *mime = curl_mime_init(h), *alt = curl_mime_init(h);
	curl_mimepart *part = curl_mime_addpart(alt);
	curl_mime_data(part, text, CURL_ZERO_TERMINATED);
	curl_mime_type(part, "text/plain; charset=utf-8");
	if (html) {
		part = curl_mime_addpart(alt);
		curl_mime_data(part, html, CURL_ZERO_TERMINATED);
		curl_mime_type(part, "text/html; charset=utf-8");
	}
	part = curl_mime_addpart(mime);
	curl_mime_subparts(part, alt);
	curl_mime_type(part, "multipart/alternative");
	struct curl_slist *inl = curl_slist_append(NULL, "Content-Disposition: inline");
	curl_mime_headers(part, inl, 1);

	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_angle);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (s->starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (s->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (s->username && *s->username) {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
	if (cc == CURLE_OK) {
		out->ok = true;
	} else {
		/* 5xx replies are the server refusing for good (unknown mailbox, policy); 4xx are temporary. */
		bool perm = out->code >= 500 && out->code < 600 && cc != CURLE_LOGIN_DENIED;
		char msg[200];
		snprintf(msg, sizeof(msg), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (out->code)
			fail(out, perm, "SMTP: %s (reply %ld)", msg, out->code);
		else
			fail(out, perm, "SMTP: %s", msg);
	}
	curl_slist_free_all(hs);
	curl_slist_free_all(rcpt);
	curl_mime_free(mime);
	curl_easy_cleanup(h);
}
