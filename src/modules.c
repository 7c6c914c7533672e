/* The daemon's background modules, in start order. A new module adds one line here. */
#include "daemon.h"

#include <stddef.h>

const struct daemon_module daemon_modules[] = {
	{ NULL, NULL, NULL, NULL },
};
