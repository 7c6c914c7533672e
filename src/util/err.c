#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int status_to_code(int status)
{
	switch (status) {
	case 400: case 413: case 422: return status == 413 ? FW_ETOOBIG : FW_EINVAL;
	case 401: return FW_EAUTH;
	case 403: return FW_EFORBIDDEN;
	case 404: return FW_ENOTFOUND;
	case 409: return FW_ECONFLICT;
	case 429: return FW_ELIMIT;
	default: return status >= 500 ? FW_ESTORE : FW_EINVAL;
	}
}

int fw_fail(struct fw_error *e, int status, const char *code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		e->status = status;
		snprintf(e->code, sizeof(e->code), "%s", code);
		va_start(ap, fmt);
		int n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
		/* Truncated: do not leave half a UTF-8 character at the end. */
		if (n >= (int)sizeof(e->message)) {
			size_t len = strlen(e->message);
			while (len > 0 && ((unsigned char)e->message[len - 1] & 0xC0) == 0x80)
				len--;
			if (len > 0 && ((unsigned char)e->message[len - 1] & 0x80))
				len--;
			e->message[len] = '\0';
		}
	}
	return status_to_code(status);
}

const char *fw_strerror(int code)
{
	switch (code) {
	case FW_OK: return "ok";
	case FW_ENOMEM: return "out of memory";
	case FW_EINVAL: return "invalid input";
	case FW_ENOTFOUND: return "not found";
	case FW_ECONFLICT: return "conflict";
	case FW_EFORBIDDEN: return "forbidden";
	case FW_ESTORE: return "store failure";
	case FW_ETOOBIG: return "too large";
	case FW_EIO: return "I/O error";
	case FW_EAUTH: return "authentication required";
	case FW_ELIMIT: return "limit exceeded";
	default: return "unknown error";
	}
}
