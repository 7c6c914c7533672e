/* The runner process (see runner.h). Single-threaded: one poll() loop over the daemon socket, a
 * signalfd (SIGCHLD, SIGTERM) and the stdout/stderr pipes of every running step. Being
 * single-threaded is what makes fork() here safe to follow with arbitrary code (the http child). */
#include "automation/runner.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (8u << 20)
#define MAX_JOBS 512

/* ---- frames ---- */

int rb_frame_send(int fd, const json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return FW_ENOMEM;
	size_t n = strlen(s);
	unsigned char hdr[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
				 (unsigned char)n };
	struct iovec_like {
		const char *p;
		size_t n;
	} parts[2] = { { (const char *)hdr, 4 }, { s, n } };
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		size_t off = 0;
		while (off < parts[i].n) {
			ssize_t w = send(fd, parts[i].p + off, parts[i].n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN) {
				struct pollfd pf = { fd, POLLOUT, 0 };
				poll(&pf, 1, 100);
				continue;
			}
			if (w <= 0) {
				rc = FW_EIO;
				break;
			}
			off += (size_t)w;
		}
	}
	free(s);
	return rc;
}

int rb_framebuf_fill(struct rb_framebuf *fb, int fd)
{
	if (fb->cap - fb->len < 65536) {
		size_t nc = fb->cap ? fb->cap * 2 : 131072;
		char *nd = realloc(fb->data, nc);
		if (!nd)
			return FW_ENOMEM;
		fb->data = nd;
		fb->cap = nc;
	}
	ssize_t r = read(fd, fb->data + fb->len, fb->cap - fb->len);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 1 : FW_EIO;
	fb->len += (size_t)r;
	return (int)(r > 0 ? 1 : 0);
}

int rb_framebuf_take(struct rb_framebuf *fb, json_t **msg)
{
	if (fb->len < 4)
		return 0;
	const unsigned char *h = (const unsigned char *)fb->data;
	size_t n = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
	if (n > FRAME_MAX)
		return FW_EINVAL;
	if (fb->len < 4 + n)
		return 0;
	json_error_t je;
	*msg = json_loadb(fb->data + 4, n, 0, &je);
	memmove(fb->data, fb->data + 4 + n, fb->len - 4 - n);
	fb->len -= 4 + n;
	return *msg && json_is_object(*msg) ? 1 : FW_EINVAL;
}

void rb_framebuf_release(struct rb_framebuf *fb)
{
	free(fb->data);
	fb->data = NULL;
	fb->len = fb->cap = 0;
}

char *rb_utf8_clean(const char *s, size_t len)
{
	char *o = malloc(len + 1);
	if (!o)
		return NULL;
	size_t i = 0, j = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		bool valid = n > 0 && i + n <= len && !(n == 1 && c == 0) && !(n == 2 && c < 0xC2);
		for (size_t k = 1; valid && k < n; k++)
			if (((unsigned char)s[i + k] & 0xC0) != 0x80)
				valid = false;
		if (valid && n == 3) {
			unsigned cp = ((c & 0x0Fu) << 12) | (((unsigned char)s[i + 1] & 0x3Fu) << 6);
			if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
				valid = false;
		}
		if (valid && n == 4) {
			unsigned cp = ((c & 0x07u) << 18) | (((unsigned char)s[i + 1] & 0x3Fu) << 12);
			if (cp < 0x10000 || cp > 0x10FFFF)
				valid = false;
		}
		if (!valid) {
			o[j++] = '?';
			i++;
			continue;
		}
		memcpy(o + j, s + i, n);
		i += n;
		j += n;
	}
	o[j] = '\0';
	return o;
}

/* ---- jobs ---- */

struct job {
	bool used;
	char id[96];
	pid_t pid;
	int fd[2]; /* stdout, stderr read ends; -1 when closed */
	struct buf out[2];
	size_t max_output;
	bool truncated, timed_out, cancelled, exited;
	int status;
	int64_t started_at, ended_at;
	int64_t deadline, kill_at, drain_until; /* monotonic ms; 0 = none */
	int64_t grace;
	char error[256];
};

static struct job jobs[MAX_JOBS];
static int sock = -1;
static uid_t run_uid;
static gid_t run_gid;
static bool switch_user;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_done(struct job *j)
{
	char *o = rb_utf8_clean(j->out[0].data ? j->out[0].data : "", j->out[0].len);
	char *e = rb_utf8_clean(j->out[1].data ? j->out[1].data : "", j->out[1].len);
	json_t *m = json_pack("{s:s,s:s,s:b,s:b,s:s,s:s,s:b,s:I,s:I}", "ev", "done", "job", j->id, "timed_out",
			      j->timed_out, "cancelled", j->cancelled, "stdout", o ? o : "", "stderr", e ? e : "",
			      "truncated", j->truncated, "started_at", (json_int_t)j->started_at, "ended_at",
			      (json_int_t)j->ended_at);
	if (j->pid > 0 && WIFEXITED(j->status))
		json_object_set_new(m, "exit_code", json_integer(WEXITSTATUS(j->status)));
	else
		json_object_set_new(m, "exit_code", json_null());
	if (j->pid > 0 && WIFSIGNALED(j->status))
		json_object_set_new(m, "signal", json_integer(WTERMSIG(j->status)));
	if (j->error[0])
		json_object_set_new(m, "error", json_string(j->error));
	rb_frame_send(sock, m);
	json_decref(m);
	free(o);
	free(e);
	for (int i = 0; i < 2; i++) {
		if (j->fd[i] >= 0)
			close(j->fd[i]);
		buf_release(&j->out[i]);
	}
	memset(j, 0, sizeof(*j));
}

static void maybe_finish(struct job *j)
{
	if (j->used && j->exited && j->fd[0] < 0 && j->fd[1] < 0)
		send_done(j);
}

/* Everything a child does between fork and exec. Runs in the single-threaded runner's child, so
 * ordinary calls are safe. Never returns. */
static void child_common(int out_w, int err_w, const char *cwd)
{
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, 0);
	dup2(out_w, 1);
	dup2(err_w, 2);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (cwd && *cwd && chdir(cwd)) {
		dprintf(2, "cannot change to working directory %s: %s\n", cwd, strerror(errno));
		_exit(126);
	}
	if (switch_user) {
		if (setgroups(0, NULL) || setgid(run_gid) || setuid(run_uid)) {
			dprintf(2, "cannot switch to the runner user: %s\n", strerror(errno));
			_exit(126);
		}
	}
}

static size_t curl_sink(char *p, size_t sz, size_t n, void *ud)
{
	fwrite(p, sz, n, (FILE *)ud);
	return sz * n;
}

/* The http child: one request with libcurl; body to stdout, "HTTP <status>" to stderr. */
static void __attribute__((noreturn)) http_child(const json_t *m)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	const char *k;
	json_t *v;
	char line[8192];
	json_object_foreach(json_object_get(m, "headers"), k, v) {
		snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
		hl = curl_slist_append(hl, line);
	}
	const char *method = json_string_value(json_object_get(m, "method"));
	const char *body = json_string_value(json_object_get(m, "body"));
	curl_easy_setopt(c, CURLOPT_URL, json_string_value(json_object_get(m, "url")));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method ? method : "GET");
	if (method && !strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)json_integer_value(json_object_get(m, "timeout_ms")));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stdout);
	CURLcode rc = curl_easy_perform(c);
	fflush(stdout);
	if (rc != CURLE_OK) {
		fprintf(stderr, "request failed: %s\n", curl_easy_strerror(rc));
		_exit(2);
	}
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	fprintf(stderr, "HTTP %ld\n", status);
	fflush(stderr);
	json_t *exp = json_object_get(m, "expect_status");
	bool good = false;
	if (json_array_size(exp)) {
		size_t i;
		json_t *x;
		json_array_foreach(exp, i, x) if (json_integer_value(x) == status) good = true;
	} else
		good = status >= 200 && status < 300;
	_exit(good ? 0 : 1);
}

static void __attribute__((noreturn)) exec_child(const json_t *m)
{
	json_t *argv_j = json_object_get(m, "argv");
	size_t argc = json_array_size(argv_j);
	char **argv = calloc(argc + 1, sizeof(char *));
	for (size_t i = 0; i < argc; i++)
		argv[i] = (char *)json_string_value(json_array_get(argv_j, i));
	json_t *env_j = json_object_get(m, "env");
	char **envp = calloc(json_object_size(env_j) + 1, sizeof(char *));
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(env_j, k, v) {
		size_t l = strlen(k) + json_string_length(v) + 2;
		envp[n] = malloc(l);
		snprintf(envp[n], l, "%s=%s", k, json_string_value(v));
		n++;
	}
	extern char **environ;
	environ = envp; /* execvp() searches the step's own PATH, and passes exactly this environment */
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static struct job *find_job(const char *id)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && !strcmp(jobs[i].id, id))
			return &jobs[i];
	return NULL;
}

static void start_job(const json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "job"));
	const char *kind = json_string_value(json_object_get(m, "kind"));
	struct job *j = NULL;
	for (int i = 0; i < MAX_JOBS && !j; i++)
		if (!jobs[i].used)
			j = &jobs[i];
	if (!id)
		return;
	if (!j || !kind) {
		json_t *d = json_pack("{s:s,s:s,s:n,s:s,s:s,s:s,s:b,s:b,s:b}", "ev", "done", "job", id, "exit_code",
				      "error", j ? "malformed job" : "the runner is at its limit of running steps", "stdout",
				      "", "stderr", "", "timed_out", 0, "cancelled", 0, "truncated", 0);
		rb_frame_send(sock, d);
		json_decref(d);
		return;
	}
	memset(j, 0, sizeof(*j));
	j->used = true;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->max_output = (size_t)json_integer_value(json_object_get(m, "max_output"));
	if (j->max_output == 0)
		j->max_output = 65536;
	for (int i = 0; i < 2; i++)
		buf_init(&j->out[i], j->max_output);
	int64_t timeout = json_integer_value(json_object_get(m, "timeout_ms"));
	j->grace = json_integer_value(json_object_get(m, "grace_ms"));
	if (j->grace <= 0)
		j->grace = 2000;
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		snprintf(j->error, sizeof(j->error), "cannot create pipes: %s", strerror(errno));
		j->fd[0] = j->fd[1] = -1;
		j->exited = true;
		send_done(j);
		return;
	}
	j->started_at = time_now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		close(po[0]);
		close(pe[0]);
		child_common(po[1], pe[1], json_string_value(json_object_get(m, "cwd")));
		if (!strcmp(kind, "http"))
			http_child(m);
		exec_child(m);
	}
	close(po[1]);
	close(pe[1]);
	j->fd[0] = po[0];
	j->fd[1] = pe[0];
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	if (pid < 0) {
		snprintf(j->error, sizeof(j->error), "fork failed: %s", strerror(errno));
		j->exited = true;
		close(j->fd[0]);
		close(j->fd[1]);
		j->fd[0] = j->fd[1] = -1;
		send_done(j);
		return;
	}
	/* Also here, so a kill aimed at the group cannot race the child's own setpgid(). */
	setpgid(pid, pid);
	j->pid = pid;
	if (timeout > 0)
		j->deadline = mono_ms() + timeout;
	json_t *s = json_pack("{s:s,s:s,s:i,s:I}", "ev", "started", "job", j->id, "pid", (int)pid, "at",
			      (json_int_t)j->started_at);
	rb_frame_send(sock, s);
	json_decref(s);
}

static void term_job(struct job *j)
{
	if (j->pid > 0 && !j->exited) {
		kill(-j->pid, SIGTERM);
		j->kill_at = mono_ms() + j->grace;
		j->deadline = 0;
	}
}

static void handle_msg(const json_t *m)
{
	const char *op = json_string_value(json_object_get(m, "op"));
	if (!op)
		return;
	if (!strcmp(op, "run"))
		start_job(m);
	else if (!strcmp(op, "cancel")) {
		struct job *j = find_job(json_string_value(json_object_get(m, "job")));
		if (j) {
			j->cancelled = true;
			term_job(j);
		}
	}
}

static void reap(void)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_JOBS; i++) {
			struct job *j = &jobs[i];
			if (!j->used || j->pid != p)
				continue;
			j->exited = true;
			j->status = st;
			j->ended_at = time_now_ms();
			/* Whatever the step left behind in its group goes with it; this also lets the pipes
			 * reach EOF. A grandchild that left the group (setsid) is cut off after 500 ms. */
			kill(-p, SIGKILL);
			j->drain_until = mono_ms() + 500;
			maybe_finish(j);
		}
	}
}

static void read_pipe(struct job *j, int k)
{
	char tmp[16384];
	for (;;) {
		ssize_t r = read(j->fd[k], tmp, sizeof(tmp));
		if (r > 0) {
			size_t room = j->max_output - j->out[k].len;
			size_t take = (size_t)r < room ? (size_t)r : room;
			if (take)
				buf_append(&j->out[k], tmp, take);
			if (take < (size_t)r)
				j->truncated = true;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		close(j->fd[k]);
		j->fd[k] = -1;
		maybe_finish(j);
		return;
	}
}

static void kill_all(void)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && jobs[i].pid > 0 && !jobs[i].exited)
			kill(-jobs[i].pid, SIGKILL);
}

int rb_runner_main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	sock = atoi(argv[1]);
	/* Die with the daemon: SIGTERM lets us take the steps' process groups down first. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 1;
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_SETMASK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	const char *user = getenv("FLYWHEEL_RUNNER_USER");
	if (user && *user && geteuid() == 0) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			fprintf(stderr, "flywheel runner: unknown FLYWHEEL_RUNNER_USER '%s'\n", user);
			return 1;
		}
		run_uid = pw->pw_uid;
		run_gid = pw->pw_gid;
		switch_user = true;
	}
	fcntl(sock, F_SETFL, O_NONBLOCK);
	json_t *hello = json_pack("{s:s,s:i,s:s?}", "ev", "hello", "pid", (int)getpid(), "user",
				  switch_user ? user : NULL);
	rb_frame_send(sock, hello);
	json_decref(hello);

	struct rb_framebuf fb = RB_FRAMEBUF_INIT;
	struct pollfd pfd[2 + 2 * MAX_JOBS];
	struct job *owner[2 + 2 * MAX_JOBS];
	int which[2 + 2 * MAX_JOBS];
	bool running = true;
	while (running) {
		int n = 0;
		pfd[n++] = (struct pollfd){ sock, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ sfd, POLLIN, 0 };
		int64_t now = mono_ms(), next = -1;
		for (int i = 0; i < MAX_JOBS; i++) {
			struct job *j = &jobs[i];
			if (!j->used)
				continue;
			for (int k = 0; k < 2; k++)
				if (j->fd[k] >= 0) {
					owner[n] = j;
					which[n] = k;
					pfd[n++] = (struct pollfd){ j->fd[k], POLLIN, 0 };
				}
			int64_t t[3] = { j->deadline, j->kill_at, j->exited ? j->drain_until : 0 };
			for (int k = 0; k < 3; k++)
				if (t[k] && (next < 0 || t[k] < next))
					next = t[k];
		}
		int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = rb_framebuf_fill(&fb, sock);
			json_t *m;
			int t;
			while ((t = rb_framebuf_take(&fb, &m)) == 1) {
				handle_msg(m);
				json_decref(m);
			}
			if (r <= 0 || t < 0)
				running = false; /* the daemon went away or spoke nonsense */
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					running = false;
			reap();
		}
		for (int i = 2; i < n; i++)
			if (pfd[i].revents && owner[i]->used && owner[i]->fd[which[i]] == pfd[i].fd)
				read_pipe(owner[i], which[i]);
		now = mono_ms();
		for (int i = 0; i < MAX_JOBS; i++) {
			struct job *j = &jobs[i];
			if (!j->used)
				continue;
			if (j->deadline && now >= j->deadline) {
				j->timed_out = true;
				term_job(j);
			}
			if (j->kill_at && now >= j->kill_at && !j->exited) {
				kill(-j->pid, SIGKILL);
				j->kill_at = 0;
			}
			if (j->exited && j->drain_until && now >= j->drain_until) {
				for (int k = 0; k < 2; k++)
					if (j->fd[k] >= 0) {
						close(j->fd[k]);
						j->fd[k] = -1;
					}
				maybe_finish(j);
			}
		}
	}
	kill_all();
	rb_framebuf_release(&fb);
	return 0;
}
