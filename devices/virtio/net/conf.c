// SPDX-License-Identifier: GPL-2.0
/* A network interface's configuration: its schema and the rules between interfaces. */
#include "devices/virtio/net/conf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static bool id_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

static int parse_iface_id(struct schema_ctx *c, json_t *v, void *stage)
{
	struct net_conf *n = stage;
	char got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	bool ok = len >= 1 && len <= NET_MAX_IFACE_ID;
	for (size_t i = 0; ok && i < len; i++)
		ok = id_char(s[i]);
	if (!ok)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "must be 1..%d characters of A-Z, a-z, 0-9, _ and -, got %s",
				   NET_MAX_IFACE_ID, schema_quote(got, sizeof(got), s));
	return schema_strdup(c, s, &n->iface_id);
}

/* What Linux takes as an interface name (dev_valid_name). */
static int parse_host_dev_name(struct schema_ctx *c, json_t *v, void *stage)
{
	struct net_conf *n = stage;
	char got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	bool ok = len >= 1 && len <= IFNAME_MAX && strlen(s) == len && strcmp(s, ".") != 0 &&
		  strcmp(s, "..") != 0 && !s[strcspn(s, "/: \t\n")];
	if (!ok)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "must be a network interface name: 1..%d characters, no '/', "
				   "':' or blanks, got %s",
				   IFNAME_MAX, schema_quote(got, sizeof(got), s));
	return schema_strdup(c, s, &n->host_dev_name);
}

static int hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

bool net_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex(s[3 * i]), lo = hex(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_guest_mac(struct schema_ctx *c, json_t *v, void *stage)
{
	struct net_conf *n = stage;
	uint8_t mac[6];
	char got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	if (!net_parse_mac(s, mac))
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "must be a MAC address like \"06:00:ac:10:00:02\", got %s",
				   schema_quote(got, sizeof(got), s));
	if (mac[0] & 1)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "%s is a multicast address (its first byte is odd); a network "
				   "interface needs a unicast one",
				   schema_quote(got, sizeof(got), s));
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return schema_fail(c, SCHEMA_AT_VALUE, "00:00:00:00:00:00 is not a usable address");
	return schema_strdup(c, s, &n->guest_mac);
}

static int parse_rx_limiter(struct schema_ctx *c, json_t *v, void *stage)
{
	return rate_limiter_parse(c, v, &((struct net_conf *)stage)->rx_rate_limiter);
}

static int parse_tx_limiter(struct schema_ctx *c, json_t *v, void *stage)
{
	return rate_limiter_parse(c, v, &((struct net_conf *)stage)->tx_rate_limiter);
}

#define IFACE_ID_FIELD                                                                 \
	{                                                                              \
		.name = "iface_id", .type = SCHEMA_CUSTOM,                             \
		.flags = SCHEMA_REQUIRED | SCHEMA_OWNS_STR,                            \
		.offset = offsetof(struct net_conf, iface_id), .parse = parse_iface_id \
	}
#define LIMITER_FIELDS                                                                      \
	{ .name = "rx_rate_limiter", .type = SCHEMA_CUSTOM, .parse = parse_rx_limiter },    \
	{                                                                                   \
		.name = "tx_rate_limiter", .type = SCHEMA_CUSTOM, .parse = parse_tx_limiter \
	}

static const struct schema_field conf_fields[] = {
	IFACE_ID_FIELD,
	{ .name = "host_dev_name",
	  .type = SCHEMA_CUSTOM,
	  .flags = SCHEMA_REQUIRED | SCHEMA_OWNS_STR,
	  .offset = offsetof(struct net_conf, host_dev_name),
	  .parse = parse_host_dev_name },
	{ .name = "guest_mac",
	  .type = SCHEMA_CUSTOM,
	  .flags = SCHEMA_OWNS_STR,
	  .offset = offsetof(struct net_conf, guest_mac),
	  .parse = parse_guest_mac },
	{ .name = "mtu",
	  .type = SCHEMA_U32,
	  .offset = offsetof(struct net_conf, mtu),
	  .min = 68,
	  .max = 65535 },
	LIMITER_FIELDS,
};

const struct schema net_conf_schema = SCHEMA_OF(conf_fields);

static const struct schema_field update_fields[] = {
	IFACE_ID_FIELD,
	LIMITER_FIELDS,
};

const struct schema net_update_schema = SCHEMA_OF(update_fields);

const char *net_conf_id(const void *conf)
{
	return ((const struct net_conf *)conf)->iface_id;
}

/* The same value in two interfaces: the one being set takes the blame, else the later one. */
static int check_unique(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			unsigned int changed, const char *field, size_t offset, bool mac)
{
	char v[80], id[80];
	for (unsigned int i = 0; i < nr; i++) {
		for (unsigned int j = i + 1; j < nr; j++) {
			const char *a = *(char *const *)((const char *)confs[i] + offset);
			const char *b = *(char *const *)((const char *)confs[j] + offset);
			if (!a || !b || (mac ? strcasecmp(a, b) : strcmp(a, b)) != 0)
				continue;
			unsigned int blame = changed == i ? i : j;
			unsigned int other = blame == i ? j : i;
			schema_push_index(c, blame);
			schema_push_key(c, field);
			return schema_fail(c, SCHEMA_AT_VALUE, "%s is already used by interface %s",
					   schema_quote(v, sizeof(v), a),
					   schema_quote(id, sizeof(id), net_conf_id(confs[other])));
		}
	}
	return 0;
}

int net_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
		       unsigned int changed, const void *settings)
{
	int ret = check_unique(c, confs, nr, changed, "host_dev_name",
			       offsetof(struct net_conf, host_dev_name), false);
	if (ret == 0)
		ret = check_unique(c, confs, nr, changed, "guest_mac",
				   offsetof(struct net_conf, guest_mac), true);
	return ret;
}
