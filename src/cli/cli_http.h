#ifndef FW_CLI_HTTP_H
#define FW_CLI_HTTP_H
/* The CLI's connection to the daemon: global options, where the server URL and token come from
 * (flag, environment, config file, ./var/admin.token), and one function per request shape.
 * Every command returns one of the exit codes below; they are documented in `flywheel --help`
 * and flywheel(1), so scripts may rely on them. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;

enum {
	CLI_OK = 0,     /* the command did what was asked */
	CLI_EAPI = 1,   /* the daemon refused: not found, conflict, invalid, forbidden, 5xx; a broken audit chain */
	CLI_EUSAGE = 2, /* the command line is wrong: unknown command or flag, missing argument */
	CLI_ECONN = 3,  /* no answer from the daemon or the store, or the token was rejected (HTTP 401) */
};

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

/* One invocation's state. The *_opt strings are borrowed from argv; url and token are filled by
 * cli_resolve() on the first request. */
struct cli {
	const char *url_opt, *token_opt;
	bool json, verbose;
	bool resolved;
	char url[1024];
	char token[512];
	char token_from[1100]; /* where the token came from, for --verbose */
	void *curl;           /* CURL *, created on first request */
};

#define CLI_INIT { 0 }

/* Frees the curl handle and wipes the token. */
void cli_release(struct cli *c);

/* Fills c->url and c->token from (in order) the flags, FLYWHEEL_URL / FLYWHEEL_TOKEN, the config
 * file ($XDG_CONFIG_HOME/flywheel/config, else ~/.config/flywheel/config), then the default URL
 * and ./var/admin.token. Idempotent. */
void cli_resolve(struct cli *c);

/* A response. body is NUL-terminated and owned; json is the parsed body (NULL when it is not
 * JSON), owned by the response. */
struct cli_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
};

#define CLI_RESP_INIT { 0, NULL, 0, NULL }

void cli_resp_release(struct cli_resp *r);

/* Sends one request to c->url + path (path starts with "/" and is already escaped). body may be
 * NULL; it is borrowed. Returns CLI_OK with *r filled for any HTTP status, or prints why and
 * returns CLI_ECONN when no HTTP answer came. */
int cli_http(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *r);

/* Like cli_http, but an answer outside 2xx is printed as "flywheel: <message> (<code>, HTTP <n>)"
 * and returns CLI_ECONN for 401, CLI_EAPI otherwise; r is then released. */
int cli_call(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *r);

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) to b. */
void cli_esc(struct buf *b, const char *s);
/* Appends "?name=value" or "&name=value" (value escaped) to the path in b; skips a NULL value. */
void cli_query(struct buf *b, const char *name, const char *value);

/* Prints "flywheel: <message>" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With --verbose, prints "* <message>" to stderr. */
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
