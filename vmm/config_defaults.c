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
	cfg->reporting = (struct reporting_tunables){ .profile = REPORTING_FAST,
						      .delay_ms = -1,
						      .budget = -1,
						      .watermark_mib = -1,
						      .order = -1 };
	cfg->level = LOG_INFO;
}

/* A tunable's value: the one set explicitly, else the profile's (-1: leave the guest's). */
static int64_t tunable(int64_t set, bool fast, int64_t fast_value)
{
	if (set >= 0)
		return set;
	return fast ? fast_value : -1;
}

struct reporting_tunables config_reporting_effective(const struct vm_config *cfg)
{
	struct reporting_tunables e = { .profile = cfg->reporting.profile,
					.delay_ms = -1,
					.budget = -1,
					.watermark_mib = -1,
					.order = -1 };
	if (!cfg->balloon.present || !cfg->balloon.free_page_reporting)
		return e;
	const struct reporting_tunables *r = &cfg->reporting;
	bool fast = r->profile == REPORTING_FAST;
	e.delay_ms = tunable(r->delay_ms, fast, REPORTING_FAST_DELAY_MS);
	e.budget = tunable(r->budget, fast, REPORTING_FAST_BUDGET);
	e.watermark_mib = tunable(r->watermark_mib, fast, REPORTING_FAST_WATERMARK_MIB);
	e.order = r->order;
	return e;
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
