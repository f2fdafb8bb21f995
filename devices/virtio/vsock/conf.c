// SPDX-License-Identifier: GPL-2.0
/* The vsock device's configuration: Firecracker's schema, vsock_id accepted and ignored. */
#include "devices/virtio/vsock/conf.h"

#include <jansson.h>
#include <stddef.h>
#include <string.h>

static int parse_uds_path(struct schema_ctx *c, json_t *v, void *stage)
{
	struct vsock_conf *conf = stage;
	char got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0)
		return schema_fail(c, SCHEMA_AT_VALUE, "must not be empty");
	if (strlen(s) != len)
		return schema_fail(c, SCHEMA_AT_VALUE, "must not hold a NUL byte");
	if (len > VSOCK_MAX_UDS_PATH)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "must be at most %d bytes (the guest's ports are appended to it "
				   "in a unix socket address), got %zu: %s",
				   VSOCK_MAX_UDS_PATH, len, schema_quote(got, sizeof(got), s));
	return schema_strdup(c, s, &conf->uds_path);
}

static const struct schema_field fields[] = {
	{ .name = "guest_cid",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct vsock_conf, guest_cid),
	  .min = 3, /* 0-2 are the hypervisor, the local loopback and the host */
	  .max = 0xfffffffe /* -1 is VMADDR_CID_ANY */ },
	{ .name = "uds_path",
	  .type = SCHEMA_CUSTOM,
	  .flags = SCHEMA_REQUIRED | SCHEMA_OWNS_STR,
	  .offset = offsetof(struct vsock_conf, uds_path),
	  .parse = parse_uds_path },
	/* Deprecated by Firecracker: accepted, checked to be a string, not kept. */
	{ .name = "vsock_id", .type = SCHEMA_STRING, .flags = SCHEMA_IGNORE },
};

const struct schema vsock_conf_schema = SCHEMA_OF(fields);
