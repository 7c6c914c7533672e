#ifndef FW_CLI_INVOICE_H
#define FW_CLI_INVOICE_H
/* flywheel invoice show --account ID --month YYYY-MM [--format table|json|csv|html]: the monthly
 * Operations-on-Demand statement from GET /api/v1/invoices. */

struct cli_family;

/* The "invoice" family for cli.c's dispatcher. */
extern const struct cli_family cli_invoice_family;

/* Runs "invoice …" on its own (argv[0] is "invoice"): global flags are accepted anywhere after it.
 * Returns a CLI exit code (cli/cli_http.h). */
int cli_invoice(int argc, char **argv);

#endif
