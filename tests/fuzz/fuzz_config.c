/* Fuzzes the flywheel.yaml loader (config.c, libyaml): any input yields 0 or an error message. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-config-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct config c;
	char err[512];
	config_defaults(&c);
	config_load(&c, path, err, sizeof(err));
	unlink(path);
	return 0;
}
