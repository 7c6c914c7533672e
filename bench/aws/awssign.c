/* Signs N AWS JSON 1.1 requests the way aws-cli does (headers content-type;host;x-amz-date;x-amz-target,
 * SigV4 over the body) with compat/sigv4's signer, and prints a Lua table of header sets for wrk.
 * usage: awssign HOST:PORT TARGET BODY AKID SECRET REGION SERVICE N */
#include "compat/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: %s HOST:PORT TARGET BODY AKID SECRET REGION SERVICE N\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[8]);
	time_t now = time(NULL);
	printf("return {\n");
	for (int i = 0; i < n; i++) {
		/* Each request its own timestamp (and so its own signature), all inside the 15-minute window. */
		time_t t = now - i;
		struct tm tm;
		char amz[17], authz[512];
		gmtime_r(&t, &tm);
		strftime(amz, sizeof(amz), "%Y%m%dT%H%M%SZ", &tm);
		struct sigv4_header h[] = {
			{ "Host", argv[1] },
			{ "X-Amz-Target", argv[2] },
			{ "Content-Type", "application/x-amz-json-1.1" },
			{ "X-Amz-Date", amz },
		};
		struct sigv4_request r = { "POST", "/", NULL, h, 4, (const unsigned char *)argv[3], strlen(argv[3]) };
		if (sigv4_sign(&r, argv[4], argv[5], argv[6], argv[7], amz, authz, sizeof(authz))) {
			fprintf(stderr, "signing failed\n");
			return 1;
		}
		printf("  { date = \"%s\", auth = \"%s\" },\n", amz, authz);
	}
	printf("}\n");
	return 0;
}
