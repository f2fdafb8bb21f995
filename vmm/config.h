/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CONFIG_H
#define EBB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/memory.h"

/* Firecracker's machine-config range; KVM's own limit is checked too. */
#define CONFIG_MAX_VCPUS      32
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MAX_DRIVES     8
#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"
#define CONFIG_DEFAULT_REPORTING_QUEUE_SIZE 64
#define CONFIG_MIN_REPORTING_QUEUE_SIZE 32 /* the Linux driver refuses fewer */

struct balloon_config {
	bool present;
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
	bool free_page_reporting;
};

/* Guest page_reporting tunables; -1 means "leave the guest's default". */
struct reporting_tunables {
	int64_t delay_ms;
	int64_t budget;
	int64_t watermark_mib;
	int64_t order;
};

struct drive_config {
	char *drive_id;
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *partuuid;
	bool cache_writeback;
};

struct vm_config {
	/* boot-source */
	char *kernel_path;
	char *initrd_path;
	char *boot_args; /* NULL: CONFIG_DEFAULT_BOOT_ARGS */

	/* machine-config */
	uint32_t mem_mib;
	uint32_t vcpus;

	/* ebb-only */
	enum mem_backing backing;
	bool thp;
	uint32_t reporting_queue_size;
	struct reporting_tunables reporting;

	struct balloon_config balloon;
	unsigned int nr_drives;
	struct drive_config drives[CONFIG_MAX_DRIVES];

	/* process */
	bool boot_timer;
	bool no_seccomp;
	bool no_api;
	char *api_sock;
	char *log_path;
	enum log_level level;
	char *metrics_path;
	char *id;
	char *config_file;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* Replace *dst with a copy of src (NULL clears). Returns -ENOMEM on failure. */
int config_set_str(char **dst, const char *src);

#endif
