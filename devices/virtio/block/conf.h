/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BLOCK_CONF_H
#define EBB_BLOCK_CONF_H

#include <stdbool.h>

#include "devices/device.h"
#include "devices/ratelimit.h"

#define BLOCK_MAX_DRIVES   8
#define BLOCK_MAX_DRIVE_ID 64

/* A drive's configuration: one of Firecracker's "drives". */
struct block_conf {
	char *drive_id;
	char *path_on_host;
	char *partuuid;
	bool is_root_device;
	bool is_read_only;
	int cache_type; /* index in cache_type_names: 0 Unsafe, 1 Writeback */
	int io_engine;	/* 0 Sync (Async is refused) */
	struct rate_limiter_conf rate_limiter;
};

#define BLOCK_CACHE_WRITEBACK 1

extern const struct schema block_conf_schema;
/* PATCH /drives/{id}: drive_id, path_on_host, rate_limiter. */
extern const struct schema block_update_schema;

int block_conf_check(struct schema_ctx *c, const void *conf, const void *settings,
		const struct machine_facts *m);
int block_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			 unsigned int changed, const void *settings);
void block_cmdline(FILE *f, const void *settings, const void *const *confs, unsigned int nr);
unsigned int block_slot_rank(const void *conf);
const char *block_conf_id(const void *conf);

#endif
