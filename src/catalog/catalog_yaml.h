#ifndef FW_CATALOG_YAML_H
#define FW_CATALOG_YAML_H
/* The catalog directory (catalog.d/NAME.yaml): each file holds one offering (a mapping) or a list of
 * them under "offerings:". YAML is turned into the offering's API JSON form, so files and
 * /api/v1/catalog/offerings are validated by the same rules (catalog/offering.h). */

#include <jansson.h>
#include <stddef.h>

struct store;

/* Parses YAML text into JSON: mappings → objects, sequences → arrays, plain scalars that are whole
 * numbers → integers, true/false → booleans, null/~ → null, everything else → strings (so "3200.00"
 * stays exact). Aliases and multi-document streams are refused. *out is a new reference. On failure
 * returns FW_EINVAL with "line N: …" in err. */
int cat_yaml_parse(const char *text, size_t len, json_t **out, char *err, size_t errcap);

/* Loads every *.yaml file of dir (in name order), validates each offering, and writes them to the
 * store in one transaction with an audit entry per offering that changed. A missing dir loads
 * nothing. Any invalid file loads nothing and names file and field in err. *count gets the number
 * of offerings read. */
int cat_catalog_load_dir(struct store *st, const char *dir, int *count, char *err, size_t errcap);

/* Where the catalog directory is: $FLYWHEEL_CATALOG_DIR, else catalog.d next to the config file,
 * else /etc/flywheel/catalog.d, else ./etc/catalog.d; the first that exists (the first candidate
 * when none does). */
void cat_catalog_dir(const char *config_file, char *out, size_t cap);

#endif
