/* Fuzzes request-body parsing and validation (util/jsonv.c) with a ticket-like field table. */
#include "util/err.h"
#include "util/jsonv.h"

#include <stddef.h>
#include <stdint.h>

static const char *const levels[] = { "high", "medium", "low", NULL };
static const struct jv_field fields[] = {
	{ "account", JV_STRING, JV_REQUIRED, 12, NULL },
	{ "title", JV_STRING, JV_NONEMPTY, 200, NULL },
	{ "impact", JV_STRING, 0, 0, levels },
	{ "roles", JV_ARRAY, 0, 10, NULL },
	{ "details", JV_OBJECT, JV_NULLABLE, 0, NULL },
	{ "n", JV_INT, 0, 0, NULL },
	{ NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	struct fw_error e;
	if (jv_parse((const char *)data, size, true, &j, &e) == 0) {
		if (json_is_object(j))
			jv_check(j, fields, &e);
		json_decref(j);
	}
	return 0;
}
