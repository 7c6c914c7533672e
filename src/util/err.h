#ifndef FW_ERR_H
#define FW_ERR_H
/* The project's error convention: functions return 0 on success or a negative FW_E* code;
 * results come back through out-parameters. Errors that reach a user also carry an HTTP status,
 * a machine-readable code and a human sentence: struct fw_error. */

enum {
	FW_OK = 0,
	FW_ENOMEM = -1,    /* allocation failed */
	FW_EINVAL = -2,    /* bad input */
	FW_ENOTFOUND = -3, /* no such object (or not visible to the caller) */
	FW_ECONFLICT = -4, /* state does not allow it (invalid transition, duplicate) */
	FW_EFORBIDDEN = -5,
	FW_ESTORE = -6,    /* the store failed */
	FW_ETOOBIG = -7,   /* a size cap was exceeded */
	FW_EIO = -8,       /* a system call or peer failed */
	FW_EAUTH = -9,     /* missing or invalid credentials */
	FW_ELIMIT = -10,   /* rate or concurrency limit */
};

/* A user-facing error: HTTP status, a short snake_case code and a sentence naming what was wrong. */
struct fw_error {
	int status;
	char code[40];
	char message[512];
};

/* Fills e (when not NULL) and returns the FW_E* code matching status, so callers can write
 * `return fw_fail(e, 409, "invalid_transition", "…", …);`. */
int fw_fail(struct fw_error *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Static English text for an FW_E* code. */
const char *fw_strerror(int code);

#endif
