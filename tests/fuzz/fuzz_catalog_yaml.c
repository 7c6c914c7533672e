/* Fuzzes the catalog.d parser (catalog/catalog_yaml.c, libyaml) and the offering validation behind
 * it, then renders a statement built from the parsed document: any input yields JSON or an error
 * naming a line, never a crash or a leak. */
#include "catalog/catalog_yaml.h"
#include "catalog/invoice.h"
#include "catalog/offering.h"
#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	char err[512];
	if (cat_yaml_parse((const char *)data, size, &j, err, sizeof(err)) != 0)
		return 0;
	if (json_is_object(j)) {
		struct fw_error e;
		json_t *o = json_deep_copy(j);
		cat_offering_check(o, &e);
		json_decref(o);
		struct buf b = BUF_INIT(1 << 20);
		cat_invoice_csv(j, &b);
		buf_reset(&b);
		cat_invoice_html(j, &b);
		buf_release(&b);
	}
	json_decref(j);
	return 0;
}
