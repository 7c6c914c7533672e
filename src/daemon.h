#ifndef FW_DAEMON_H
#define FW_DAEMON_H
/* Background parts of the daemon (scheduler, outbox delivery, runner supervisor …) register here:
 * started after the store is open and before the HTTP server listens, reloaded on SIGHUP, stopped
 * in reverse order on SIGTERM after the HTTP server has drained. */

struct server;

struct daemon_module {
	const char *name;
	int (*start)(struct server *s); /* 0 or a negative code; a failure stops start-up */
	void (*reload)(struct server *s); /* may be NULL */
	void (*stop)(void);               /* may be NULL */
};

/* Terminated by an entry with name NULL (src/modules.c). */
extern const struct daemon_module daemon_modules[];

/* flywheel serve … */
int serve_main(int argc, char **argv);

#endif
