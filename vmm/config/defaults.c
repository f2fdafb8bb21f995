// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"

void config_init_with(struct vm_config *cfg, const struct device_registry *registry)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->vcpus = 1;
	cfg->backing = MEM_BACKING_ANON;
	cfg->acpi = true;
	cfg->free_page_tables = true;
	cfg->free_zero_pages = true;
	cfg->level = LOG_INFO;
	device_confs_init(&cfg->devices, registry);
}

void config_init(struct vm_config *cfg)
{
	config_init_with(cfg, device_registry());
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

#define FOR_EACH_STRING(cfg, X)                                                         \
	X((cfg)->kernel_path)                                                           \
	X((cfg)->initrd_path) X((cfg)->boot_args) X((cfg)->api_sock) X((cfg)->log_path) \
		X((cfg)->metrics_path) X((cfg)->id) X((cfg)->config_file) X((cfg)->restore_path) \
			X((cfg)->restore_mem_path)

void config_free(struct vm_config *cfg)
{
#define FREE(s) free(s);
	FOR_EACH_STRING(cfg, FREE)
#undef FREE
	device_confs_free(&cfg->devices);
	memset(cfg, 0, sizeof(*cfg));
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	memcpy(dst, src, sizeof(*dst));
	bool ok = true;
#define DUP(s)                         \
	if ((s) && !((s) = strdup(s))) \
		ok = false;
	FOR_EACH_STRING(dst, DUP)
#undef DUP
	/* The device list was copied by value above; give dst its own. */
	if (device_confs_copy(&dst->devices, &src->devices) < 0) {
		memset(&dst->devices, 0, sizeof(dst->devices));
		ok = false;
	}
	if (!ok) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}
