/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_NET_CONF_H
#define EBB_NET_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ratelimit.h"

#define NET_MAX_IFACES	 4
#define NET_MAX_IFACE_ID 64

/* One of Firecracker's "network-interfaces". */
struct net_conf {
	char *iface_id;
	char *host_dev_name;
	char *guest_mac; /* "aa:bb:cc:dd:ee:ff", checked; NULL: the guest picks one */
	uint32_t mtu;	 /* 0: not advertised */
	struct rate_limiter_conf rx_rate_limiter;
	struct rate_limiter_conf tx_rate_limiter;
};

extern const struct schema net_conf_schema;
/* PATCH /network-interfaces/{id}: iface_id and the rate limiters. */
extern const struct schema net_update_schema;

/* "aa:bb:cc:dd:ee:ff" into mac; false if it is not one. */
bool net_parse_mac(const char *s, uint8_t mac[6]);

int net_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
		       unsigned int changed, const void *settings);
const char *net_conf_id(const void *conf);

#endif
