#include "http/server.h"
#include "config.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/req.h"
#include "http/router.h"
#include "store/store.h"
#include "util/err.h"
#include "util/json_out.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Requests between their headers and the end of their response. A drain waits for this to reach
 * zero before stopping MHD, which would otherwise close connections whose write has committed but
 * whose response has not been sent yet. */
static atomic_int inflight;
static atomic_bool draining;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct store_conn *req_db(struct req *r)
{
	return store_reader(r->srv->store);
}

/* ---- request helpers ---- */

int req_json(struct req *r, int status, json_t *j)
{
	json_decref(r->resp);
	r->status = status;
	r->resp = j;
	return 0;
}

int req_raw(struct req *r, int status, const char *ct, const char *data, size_t len)
{
	free(r->raw);
	r->raw = malloc(len ? len : 1);
	if (!r->raw)
		return FW_ENOMEM;
	memcpy(r->raw, data, len);
	r->raw_len = len;
	r->status = status;
	r->content_type = ct;
	return 0;
}

int req_fail(struct req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	r->err.status = status;
	snprintf(r->err.code, sizeof(r->err.code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
	r->err_set = true;
	return fw_fail(NULL, status, code, "%s", "");
}

int req_fail_from(struct req *r, const struct fw_error *e)
{
	r->err = *e;
	if (!r->err.status)
		r->err.status = 500;
	r->err_set = true;
	return fw_fail(NULL, r->err.status, r->err.code, "%s", "");
}

void req_header(struct req *r, const char *name, const char *value)
{
	if (r->nheaders >= (int)(sizeof(r->headers) / sizeof(r->headers[0])))
		return;
	size_t n = strlen(name) + strlen(value) + 3;
	char *h = malloc(n);
	if (!h)
		return;
	snprintf(h, n, "%s: %s", name, value);
	r->headers[r->nheaders++] = h;
}

const char *req_arg(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_hdr(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_param(struct req *r, int i)
{
	return i < r->nparams ? r->params[i] : "";
}

int req_body_fields(struct req *r, const struct jv_field *fields, bool optional, json_t **out)
{
	struct fw_error e;
	*out = NULL;
	if (optional && r->body.len == 0)
		return 0;
	int rc = req_body_json(r, false, out);
	if (rc)
		return rc;
	if ((rc = jv_check(*out, fields, &e))) {
		json_decref(*out);
		*out = NULL;
		return req_fail_from(r, &e);
	}
	return 0;
}

int req_body_json(struct req *r, bool allow_array, json_t **out)
{
	struct fw_error e;
	int rc = jv_parse(r->body.data, r->body.len, allow_array, out, &e);
	if (rc)
		return req_fail_from(r, &e);
	return 0;
}

void *req_own(struct req *r, void *p)
{
	if (p && r->nowned < (int)(sizeof(r->owned) / sizeof(r->owned[0])))
		r->owned[r->nowned++] = p;
	return p;
}

void req_peer(struct req *r, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, (socklen_t)cap);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out, (socklen_t)cap);
}

static void req_free(struct req *r)
{
	buf_release(&r->body);
	json_decref(r->resp);
	free(r->raw);
	free(r->path);
	free(r->raw_path);
	free(r->raw_query);
	auth_free(r->auth);
	for (int i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	for (int i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r);
}

/* ---- dispatch ---- */

int req_authenticate(struct req *r, bool basic)
{
	const char *h = req_hdr(r, "Authorization");
	const char *challenge = basic ? "Basic realm=\"flywheel\"" : "Bearer realm=\"flywheel\"";
	char token[256] = "";
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		snprintf(token, sizeof(token), "%s", h + 7);
	} else if (h && strncasecmp(h, "Basic ", 6) == 0) {
		char *pass = NULL;
		char *user = MHD_basic_auth_get_username_password(r->conn, &pass);
		if (pass)
			snprintf(token, sizeof(token), "%s", pass);
		MHD_free(user);
		MHD_free(pass);
	}
	if (!token[0]) {
		req_header(r, "WWW-Authenticate", challenge);
		return req_fail(r, 401, "unauthorized",
				basic ? "missing credentials: send 'Authorization: Bearer <token>' or basic auth with "
					"the token as password"
				      : "missing credentials: send 'Authorization: Bearer <token>'");
	}
	/* The auth tables are never written asynchronously: no need to wait for the applier. */
	int rc = auth_token(store_reader_nowait(r->srv->store), token, &r->auth);
	explicit_bzero(token, sizeof(token));
	if (rc == FW_EAUTH) {
		req_header(r, "WWW-Authenticate", challenge);
		return req_fail(r, 401, "unauthorized", "the token is unknown, expired or revoked");
	}
	if (rc)
		return req_fail(r, 503, "store_unavailable", "the store could not be read; try again");
	return 0;
}

static void dispatch(struct req *r)
{
	int path_matched = 0;
	const struct route *rt = router_match(r, r->method, r->path, &path_matched);
	if (!rt) {
		r->route = "unmatched";
		if (path_matched)
			req_fail(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method, r->path);
		else
			req_fail(r, 404, "not_found", "no such endpoint: %s", r->path);
		return;
	}
	if (r->body_too_big) {
		req_fail(r, 413, "body_too_large", "the request body exceeds the limit of %zu bytes", r->body.max);
		return;
	}
	if (!(rt->flags & (ROUTE_PUBLIC | ROUTE_OWN_AUTH)) && req_authenticate(r, false))
		return;
	int rc = rt->fn(r);
	if (rc && !r->err_set && !r->status)
		req_fail(r, rc == FW_ESTORE ? 503 : 500, rc == FW_ESTORE ? "store_unavailable" : "internal",
			 "the request could not be completed (%s)", fw_strerror(rc));
	if (!r->err_set && !r->status)
		req_fail(r, 500, "internal", "the handler produced no response");
}

static enum MHD_Result respond(struct req *r)
{
	struct MHD_Response *resp;
	const char *ct = "application/json";
	if (r->err_set) {
		r->status = r->err.status;
		json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", r->err.code, "message", r->err.message);
		char *s = json_dumps(e, JSON_COMPACT);
		json_decref(e);
		resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	} else if (r->raw) {
		ct = r->content_type ? r->content_type : "text/plain; charset=utf-8";
		resp = MHD_create_response_from_buffer(r->raw_len, r->raw, MHD_RESPMEM_MUST_FREE);
		r->raw = NULL;
	} else if (r->resp) {
		char *s = json_out_dumps(r->resp);
		if (!s)
			s = json_dumps(r->resp, JSON_COMPACT | JSON_ENCODE_ANY);
		resp = s ? MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) : NULL;
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ct);
	for (int i = 0; i < r->nheaders; i++) {
		char *colon = strchr(r->headers[i], ':');
		*colon = '\0';
		MHD_add_response_header(resp, r->headers[i], colon + 2);
		*colon = ':';
	}
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void log_request(struct req *r, double secs)
{
	metrics_observe(r->route ? r->route : "unmatched", r->method, r->status, secs);
	if (!r->srv->cfg->log_requests)
		return;
	char ts[32], peer[64];
	time_fmt_ms(time_now_ms(), ts, sizeof(ts));
	req_peer(r, peer, sizeof(peer));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "ts", ts, "level", "info", "msg", "request",
			      "method", r->method, "path", r->path, "status", r->status, "ms", secs * 1000.0,
			      "peer", peer);
	if (r->auth)
		json_object_set_new(o, "principal", json_string(r->auth->principal));
	if (r->err_set)
		json_object_set_new(o, "error", json_string(r->err.code));
	char *line = json_dumps(o, JSON_COMPACT);
	if (line)
		log_json_line(line);
	free(line);
	json_decref(o);
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct server *s = cls;
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	atomic_fetch_add(&inflight, 1);
	r->srv = s;
	r->conn = conn;
	r->start_ns = mono_ns();
	buf_init(&r->body, s->cfg->body_max);
	/* The path as sent (percent-encoded), without the query; MHD decodes the copy it routes on. */
	const char *q = strchr(uri, '?');
	r->path = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri);
	r->raw_path = strdup(r->path);
	r->raw_query = q ? strdup(q + 1) : NULL;
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	if (!r)
		return MHD_NO;
	if (!r->method) {
		r->method = method;
		/* Route on the decoded path MHD gives us; keep it NUL-free. */
		free(r->path);
		r->path = strdup(url);
		if (atomic_load(&draining)) {
			/* A new request on a kept-alive connection while draining: answer, and close. */
			r->route = "draining";
			req_header(r, "Connection", "close");
			req_fail(r, 503, "shutting_down",
				 "the server is shutting down; retry against another instance or after the restart");
			return respond(r);
		}
		const char *cl = req_hdr(r, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->body.max)
			r->body_too_big = true;
		if (!r->body_too_big)
			return MHD_YES;
	} else if (*upload_size) {
		if (!r->body_too_big && buf_append(&r->body, upload, *upload_size))
			r->body_too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	dispatch(r);
	return respond(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	if (!r)
		return;
	if (r->method && r->status)
		log_request(r, (double)(mono_ns() - r->start_ns) / 1e9);
	req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errcap)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	if (!colon) {
		snprintf(err, errcap, "listen address '%s' must be HOST:PORT", listen);
		return FW_EINVAL;
	}
	size_t hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535) {
		snprintf(err, errcap, "listen port in '%s' is not a number from 0 to 65535", listen);
		return FW_EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (!host[0])
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &a4->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errcap, "listen host in '%s' is not an IP address", listen);
	return FW_EINVAL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

int server_start(struct server *s, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	if (parse_listen(s->cfg->listen, &ss, err, errcap))
		return FW_EINVAL;
	/* ITC lets MHD_quiesce_daemon() hand back the listen socket while the pool threads run. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	char *cert = NULL, *key = NULL;
	if (s->cfg->tls_cert[0]) {
		cert = slurp(s->cfg->tls_cert);
		key = slurp(s->cfg->tls_key);
		if (!cert || !key) {
			snprintf(err, errcap, "cannot read tls.cert %s or tls.key %s", s->cfg->tls_cert, s->cfg->tls_key);
			free(cert);
			free(key);
			return FW_EIO;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls[] = {
		{ cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg->threads, MHD_OPTION_URI_LOG_CALLBACK, uri_log, s,
		MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
		MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (!d) {
		snprintf(err, errcap, "cannot listen on %s (address in use or not available)", s->cfg->listen);
		return FW_EIO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	s->mhd = d;
	return 0;
}

void server_quiesce(struct server *s)
{
	if (!s->mhd)
		return;
	atomic_store(&draining, true);
	/* Closing the listen socket refuses new connections at once instead of leaving them in the
	 * backlog until the stop. */
	MHD_socket ls = MHD_quiesce_daemon(s->mhd);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	/* In-flight requests finish and send their responses; bounded so a stuck client cannot hold
	 * the shutdown forever (MHD's own connection timeout is 120 s). */
	/* The count must stay at zero for a while: a kept-alive connection can have its next request
	 * between parse and handler when the count first reads zero. */
	int quiet = 0;
	for (int i = 0; i < 3000 && quiet < 30; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		quiet = atomic_load(&inflight) > 0 ? 0 : quiet + 1;
	}
}

void server_stop(struct server *s)
{
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
}
