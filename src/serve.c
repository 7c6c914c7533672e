/* flywheel serve: configuration, store, bootstrap, modules, HTTP, signals. */
#include "api/access_keys.h"
#include "config.h"
#include "daemon.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
	fputs("usage: flywheel serve [--listen HOST:PORT] [--data-dir DIR] [--config FILE] [--store URL]\n"
	      "\n"
	      "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free one)\n"
	      "  --data-dir DIR      where the embedded store and admin.token live (default ./var)\n"
	      "  --config FILE       flywheel.yaml to load; flags override it\n"
	      "  --store URL         sqlite:///path/flywheel.db (default) or postgres://user@host/db\n"
	      "\n"
	      "Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file.\n",
	      f);
}

static int parse_flags(int argc, char **argv, struct config *cfg, const char **config_file)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "data-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' }, { "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	/* Two passes: the config file first, so flags given anywhere override it. */
	char err[512];
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (ch == 'c')
			*config_file = optarg;
	if (*config_file && config_load(cfg, *config_file, err, sizeof(err)))
		fatal("%s", err);
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': snprintf(cfg->listen, sizeof(cfg->listen), "%s", optarg); break;
		case 'd': snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", optarg); break;
		case 's': snprintf(cfg->store, sizeof(cfg->store), "%s", optarg); break;
		case 'c': break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flywheel serve: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

static void apply_log_level(const struct config *cfg)
{
	enum log_level l;
	if (!log_parse_level(cfg->log_level, &l))
		log_set_level(l);
}

static void reload(struct server *s, const char *config_file)
{
	if (config_file) {
		struct config fresh = *s->cfg;
		char err[512];
		if (config_load(&fresh, config_file, err, sizeof(err))) {
			log_msg(LOG_ERROR, "reload: %s; keeping the running configuration", err);
		} else {
			/* Only settings that can change without restarting take effect. */
			snprintf(s->cfg->log_level, sizeof(s->cfg->log_level), "%s", fresh.log_level);
			s->cfg->log_requests = fresh.log_requests;
			s->cfg->body_max = fresh.body_max;
			apply_log_level(s->cfg);
		}
	}
	for (const struct daemon_module *m = daemon_modules; m->name; m++)
		if (m->reload)
			m->reload(s);
	log_msg(LOG_INFO, "reloaded configuration%s%s", config_file ? " from " : "", config_file ? config_file : "");
}

int serve_main(int argc, char **argv)
{
	static struct config cfg;
	const char *config_file = NULL;
	config_defaults(&cfg);
	int rc = parse_flags(argc, argv, &cfg, &config_file);
	if (rc)
		return rc;
	apply_log_level(&cfg);

	/* Block the signals we handle before any thread exists, so only sigwait() below sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mkdir(cfg.data_dir, 0700) && errno != EEXIST)
		fatal("cannot create data directory %s: %s", cfg.data_dir, strerror(errno));
	char url[1200], err[512];
	if (cfg.store[0])
		snprintf(url, sizeof(url), "%s", cfg.store);
	else
		snprintf(url, sizeof(url), "sqlite://%s/flywheel.db", cfg.data_dir);

	struct server srv = { .cfg = &cfg };
	/* Before the store opens: a start replays the asynchronous writes a crash left in its redo log. */
	if (tkt_store_register())
		fatal("cannot register the ticket writes with the store");
	if (store_open(url, &srv.store, err, sizeof(err)))
		fatal("%s", err);
	char token_path[600];
	snprintf(token_path, sizeof(token_path), "%s/admin.token", cfg.data_dir);
	bool created = false;
	if (auth_bootstrap(srv.store, token_path, &created))
		fatal("cannot create the first admin token in %s", token_path);
	if (created)
		fprintf(stderr, "flywheel: created the first admin token; it is in %s (mode 0600)\n", token_path);

	int started = 0;
	for (const struct daemon_module *m = daemon_modules; m->name; m++, started++)
		if (m->start && m->start(&srv))
			fatal("cannot start %s", m->name);
	if (server_start(&srv, err, sizeof(err)))
		fatal("%s", err);
	log_msg(LOG_INFO, "listening on %s (port %u), store %s, data dir %s", cfg.listen, srv.port,
		store_kind(srv.store), cfg.data_dir);
	fprintf(stderr, "flywheel: serving http://%s/ (port %u)\n", cfg.listen, srv.port);

	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			reload(&srv, config_file);
			continue;
		}
		break;
	}
	log_msg(LOG_INFO, "draining: no new connections, finishing in-flight requests");
	server_quiesce(&srv);
	server_stop(&srv);
	for (int i = started - 1; i >= 0; i--)
		if (daemon_modules[i].stop)
			daemon_modules[i].stop();
	store_close(srv.store);
	akey_cache_clear(); /* wipes the unsealed AWS secrets */
	log_msg(LOG_INFO, "stopped");
	return 0;
}
