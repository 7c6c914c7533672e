#include "notify/outbox.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>

int outbox_add(struct store_conn *c, const char *topic, const char *account, const char *recipient,
	       const json_t *payload)
{
	char hex[25], id[32];
	if (crypto_random_hex(12, hex, sizeof(hex)))
		return FW_EIO;
	snprintf(id, sizeof(id), "ntf-%s", hex);
	char *body = json_dumps(payload, JSON_COMPACT);
	if (!body)
		return FW_ENOMEM;
	int64_t now = time_now_ms();
	int rc = store_exec(c,
			    "INSERT INTO outbox (id, created_at, topic, account, recipient, payload, status, next_at) "
			    "VALUES ($1,$2,$3,$4,$5,$6,'pending',$2)",
			    SARGS(ST(id), SI(now), ST(topic), ST(account), ST(recipient), ST(body)), NULL);
	free(body);
	/* Delivery starts right after the commit instead of at the dispatcher's next poll. */
	if (!rc)
		store_after_commit(c, ntf_wake, NULL);
	return rc;
}
