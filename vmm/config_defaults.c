// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->vcpus = 1;
	cfg->backing = MEM_BACKING_ANON;
	cfg->reporting_queue_size = CONFIG_DEFAULT_REPORTING_QUEUE_SIZE;
	cfg->reporting = (struct reporting_tunables){ REPORTING_FAST, -1, -1, -1 };
	cfg->level = LOG_INFO;
}

int config_set_str(char **dst, const char *src)
{
	char *copy = NULL;
	if (src) {
		copy = strdup(src);
		if (!copy)
			return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

void config_free(struct vm_config *cfg)
{
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->boot_args);
	free(cfg->api_sock);
	free(cfg->log_path);
	free(cfg->metrics_path);
	free(cfg->id);
	free(cfg->config_file);
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		free(cfg->drives[i].drive_id);
		free(cfg->drives[i].path_on_host);
		free(cfg->drives[i].partuuid);
	}
	memset(cfg, 0, sizeof(*cfg));
}
