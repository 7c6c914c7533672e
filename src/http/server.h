#ifndef FW_SERVER_H
#define FW_SERVER_H
/* The HTTP server: libmicrohttpd with a thread pool, request bodies capped, routing, auth,
 * one JSON log line per request, metrics. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_conn;
struct req;
struct config;

struct server {
	struct store *store;
	struct config *cfg;
	void *mhd;
	uint16_t port; /* bound port (useful with :0) */
};

/* Starts listening on cfg's address. Returns 0 or a negative code with a sentence in err. */
int server_start(struct server *s, char *err, size_t errcap);
/* Drains: stops accepting connections, answers new requests on open connections with 503, and
 * waits (bounded) until every request in flight has sent its response. */
void server_quiesce(struct server *s);
/* Finishes in-flight requests and stops. */
void server_stop(struct server *s);

/* The calling thread's read connection to the server's store. */
struct store_conn *req_db(struct req *r);

#endif
