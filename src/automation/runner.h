#ifndef FW_RB_RUNNER_H
#define FW_RB_RUNNER_H
/* The runner: the one process of Flywheel that forks. The daemon starts it once (fork + exec of
 * its own binary as `flywheel __runner FD`, see supervisor.c) and talks to it over a socketpair with
 * frames: a 4-byte big-endian length, then one JSON object.
 *
 * daemon → runner
 *   {"op":"run","job":"EXE-7:2","kind":"exec","argv":[…],"env":{…},"cwd":"/",
 *    "timeout_ms":60000,"grace_ms":2000,"max_output":65536}
 *   {"op":"run","job":…,"kind":"http","method":"GET","url":…,"headers":{…},"body":…,
 *    "expect_status":[200],"timeout_ms":…,"max_output":…}
 *   {"op":"cancel","job":…}
 * runner → daemon
 *   {"ev":"hello","pid":N}
 *   {"ev":"started","job":…,"pid":N,"at":ms}
 *   {"ev":"done","job":…,"exit_code":N|null,"signal":N|null,"timed_out":bool,"cancelled":bool,
 *    "stdout":"…","stderr":"…","truncated":bool,"error":"…"|null,"started_at":ms,"ended_at":ms}
 *
 * Every step runs in its own process group (setpgid), with stdin from /dev/null, an environment of
 * exactly what the daemon sent, its working directory, and — when FLYWHEEL_RUNNER_USER names a user
 * and the runner is root — that user's uid/gid. argv is passed to execvp() as is: there is no shell.
 * A timeout sends SIGTERM to the group, then SIGKILL after the grace period; when the step's main
 * process ends, whatever is left of its group is killed. Output beyond max_output is discarded
 * (truncated: true). http steps run in a forked child too, with libcurl; the exit code is 0 when the
 * status is one of expect_status (2xx when absent), 1 otherwise, 2 on a transport error, and stderr
 * carries "HTTP <status>". */

#include <jansson.h>
#include <stddef.h>

/* `flywheel __runner FD`: serves the daemon on FD until it closes or sends SIGTERM. Returns the
 * process exit status. */
int rb_runner_main(int argc, char **argv);

/* Frames. rb_frame_send writes one whole frame (blocking). Returns 0 or FW_EIO. */
int rb_frame_send(int fd, const json_t *msg);

/* Incremental reader: feed bytes read from the socket, take complete frames out. */
struct rb_framebuf {
	char *data;
	size_t len, cap;
};
#define RB_FRAMEBUF_INIT { NULL, 0, 0 }
/* Reads what is available on fd (which may be non-blocking). Returns bytes read, 0 at EOF, or
 * FW_EIO (EAGAIN counts as 1 to mean "not at EOF"). */
int rb_framebuf_fill(struct rb_framebuf *fb, int fd);
/* Takes the next complete frame: 1 and *msg (a new reference), 0 when none is complete, FW_EINVAL
 * on a malformed or oversized frame (the connection should be dropped). */
int rb_framebuf_take(struct rb_framebuf *fb, json_t **msg);
void rb_framebuf_release(struct rb_framebuf *fb);

/* Copies s[0..len) replacing bytes that are not valid UTF-8 with '?', so output can go in JSON. *out
 * is a new string (free()). */
char *rb_utf8_clean(const char *s, size_t len);

#endif
