/* The CLI's HTTP client (libcurl) and where its server URL and token come from. */
#include "cli/cli_http.h"
#include "util/buf.h"
#include "version.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESP_MAX (64u << 20) /* larger answers are cut off with an error rather than eating memory */

void cli_err(const char *fmt, ...)
{
	va_list ap;
	fputs("flywheel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_note(const struct cli *c, const char *fmt, ...)
{
	if (!c->verbose)
		return;
	va_list ap;
	fputs("* ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_release(struct cli *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	explicit_bzero(c->token, sizeof(c->token));
}

void cli_resp_release(struct cli_resp *r)
{
	free(r->body);
	json_decref(r->json);
	*r = (struct cli_resp)CLI_RESP_INIT;
}

/* ---- configuration ---- */

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t i = 0;
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static void config_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(out, cap, "%s/flywheel/config", xdg);
	else if (home && *home)
		snprintf(out, cap, "%s/.config/flywheel/config", home);
	else
		out[0] = '\0';
}

/* Reads `url = …` and `token = …` lines; '#' starts a comment; values may be quoted. Other keys are
 * ignored (noted with --verbose) so an older client reads a newer file. */
static void config_read(struct cli *c, const char *path, char *url, size_t ucap, char *tok, size_t tcap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT)
			cli_note(c, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	cli_note(c, "reading %s", path);
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		const char *first = line + strspn(line, " \t");
		if (*first == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *key = line, *val = eq + 1;
		trim(key);
		trim(val);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		}
		if (!strcmp(key, "url"))
			snprintf(url, ucap, "%s", val);
		else if (!strcmp(key, "token"))
			snprintf(tok, tcap, "%s", val);
		else
			cli_note(c, "%s:%d: unknown key '%s' ignored", path, lineno, key);
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
}

static bool read_token_file(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(out, (int)cap, f) != NULL;
	fclose(f);
	if (ok)
		trim(out);
	return ok && out[0];
}

void cli_resolve(struct cli *c)
{
	if (c->resolved)
		return;
	c->resolved = true;
	char path[1024], furl[1024] = "", ftok[512] = "";
	config_path(path, sizeof(path));
	if (path[0])
		config_read(c, path, furl, sizeof(furl), ftok, sizeof(ftok));
	const char *eu = getenv("FLYWHEEL_URL"), *et = getenv("FLYWHEEL_TOKEN");

	const char *url = c->url_opt         ? c->url_opt
			  : eu && *eu        ? eu
			  : furl[0]          ? furl
					     : CLI_DEFAULT_URL;
	snprintf(c->url, sizeof(c->url), "%s", url);
	size_t ul = strlen(c->url);
	while (ul && c->url[ul - 1] == '/')
		c->url[--ul] = '\0';

	if (c->token_opt) {
		snprintf(c->token, sizeof(c->token), "%s", c->token_opt);
		snprintf(c->token_from, sizeof(c->token_from), "--token");
	} else if (et && *et) {
		snprintf(c->token, sizeof(c->token), "%s", et);
		snprintf(c->token_from, sizeof(c->token_from), "FLYWHEEL_TOKEN");
	} else if (ftok[0]) {
		snprintf(c->token, sizeof(c->token), "%s", ftok);
		snprintf(c->token_from, sizeof(c->token_from), "%s", path);
	} else if (access("var/admin.token", R_OK) == 0 &&
		   read_token_file("var/admin.token", c->token, sizeof(c->token))) {
		snprintf(c->token_from, sizeof(c->token_from), "./var/admin.token (the local daemon's admin token)");
	}
	struct stat sb;
	if (ftok[0] && !strcmp(c->token_from, path) && stat(path, &sb) == 0 && (sb.st_mode & 077))
		cli_err("warning: %s holds a token and others may read it; run: chmod 600 %s", path, path);
	explicit_bzero(ftok, sizeof(ftok));
	cli_note(c, "server %s", c->url);
	if (c->token[0])
		cli_note(c, "token from %s", c->token_from);
	else
		cli_note(c, "no token: give --token, FLYWHEEL_TOKEN or 'token = …' in %s", path[0] ? path : "the config file");
}

/* ---- requests ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	return buf_append(b, p, size * n) ? 0 : size * n;
}

void cli_esc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			buf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			buf_append(b, e, 3);
		}
	}
}

void cli_query(struct buf *b, const char *name, const char *value)
{
	if (!value)
		return;
	buf_puts(b, strchr(buf_str(b), '?') ? "&" : "?");
	buf_puts(b, name);
	buf_puts(b, "=");
	cli_esc(b, value);
}

int cli_http(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *r)
{
	cli_resolve(c);
	*r = (struct cli_resp)CLI_RESP_INIT;
	if (!c->curl && !(c->curl = curl_easy_init())) {
		cli_err("cannot start the HTTP client (libcurl)");
		return CLI_ECONN;
	}
	CURL *h = c->curl;
	curl_easy_reset(h);
	struct buf url = BUF_INIT(1 << 16), out = BUF_INIT(RESP_MAX);
	struct curl_slist *hdrs = NULL;
	char *payload = NULL, auth[600], errbuf[CURL_ERROR_SIZE] = "";
	int result = CLI_OK;

	buf_puts(&url, c->url);
	buf_puts(&url, path);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (c->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "flywheel-cli/" FLYWHEEL_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	if (strcmp(method, "GET") != 0) {
		payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload ? payload : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(payload ? strlen(payload) : 0));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cli_note(c, "%s %s%s%s", method, buf_str(&url), payload ? " " : "", payload ? payload : "");

	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR)
			cli_err("the answer from %s is larger than %u MiB; narrow the request", c->url, RESP_MAX >> 20);
		else
			cli_err("cannot reach the daemon at %s: %s (is it running? set --url or FLYWHEEL_URL)", c->url,
				errbuf[0] ? errbuf : curl_easy_strerror(cc));
		result = CLI_ECONN;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->len = out.len;
	r->body = buf_detach(&out);
	if (r->len)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	cli_note(c, "HTTP %ld, %zu bytes", r->status, r->len);
out:
	curl_slist_free_all(hdrs);
	free(payload);
	buf_release(&url);
	buf_release(&out);
	return result;
}

int cli_call(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *r)
{
	int rc = cli_http(c, method, path, body, r);
	if (rc || (r->status >= 200 && r->status < 300))
		return rc;
	json_t *e = json_object_get(r->json, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (msg)
		cli_err("%s (%s, HTTP %ld)", msg, code ? code : "error", r->status);
	else
		cli_err("%s %s answered HTTP %ld%s%.200s", method, path, r->status, r->len ? ": " : "",
			r->len ? r->body : "");
	rc = CLI_EAPI;
	if (r->status == 401) {
		char path_hint[1024];
		config_path(path_hint, sizeof(path_hint));
		if (c->token[0])
			cli_err("the token from %s was rejected; get a new one with 'flywheel token create'",
				c->token_from);
		else
			cli_err("no token given: use --token, FLYWHEEL_TOKEN, or 'token = …' in %s", path_hint);
		rc = CLI_ECONN;
	}
	cli_resp_release(r);
	return rc;
}
