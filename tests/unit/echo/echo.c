// SPDX-License-Identifier: GPL-2.0
/*
 * A test device type, added the way docs/architecture.md says a device is
 * added: one folder and one registry line, nothing in vmm/. It has one
 * queue that copies each chain's readable bytes into its writable ones, one
 * configuration section ("echo": {"greeting": N}), one rule against the
 * machine, a route of its own (GET and PATCH /echo), counters and state.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "devices/conf.h"
#include "devices/virtio/mmio.h"
#include "tests/unit/echo/echo.h"

/* ---- configuration ---- */

static const struct schema_field echo_fields[] = {
	{ .name = "greeting",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct echo_conf, greeting),
	  .min = 1,
	  .max = 1000000 },
};

static const struct schema echo_schema = SCHEMA_OF(echo_fields);

/* A rule against the machine: the greeting may not exceed the guest's MiB. */
static int echo_check(struct schema_ctx *c, const void *conf, const void *settings,
		const struct machine_facts *m)
{
	const struct echo_conf *e = conf;
	if (e->greeting <= m->mem_mib)
		return 0;
	schema_push_key(c, "greeting");
	return schema_fail(c, SCHEMA_AT_VALUE, "%u is more than the guest's %u MiB", e->greeting,
			   m->mem_mib);
}

/* ---- the queue ---- */

static uint64_t echo_features(void *dev)
{
	return 0;
}

static uint16_t echo_queue_max_size(void *dev, unsigned int idx, uint64_t acked)
{
	return idx == 0 ? 16 : 0;
}

static unsigned int echo_process_requests(void *dev, struct virtq *vq, unsigned int idx,
				  const struct vq_chain *chain, enum vq_error err)
{
	struct echo_dev *e = dev;
	uint8_t buf[ECHO_MAX_BYTES];
	uint32_t n = 0, written = 0;
	if (err == VQ_ERR_NONE) {
		n = (uint32_t)MIN(vq_chain_readable_len(chain), sizeof(buf));
		if (vq_chain_read(e->mem, chain, 0, buf, n) < 0)
			n = 0;
	}
	for (unsigned int i = 0; i < chain->nr && written < n; i++) {
		const struct vq_buf *b = &chain->bufs[i];
		uint32_t len = MIN(b->len, n - written);
		if (b->device_writable && mem_write(e->mem, b->gpa, buf + written, len) == 0)
			written += len;
	}
	e->counters.chains++;
	e->counters.bytes += written;
	vq_push(vq, chain->head, written);
	virtio_mmio_used(&e->transport, idx);
	return 1;
}

static void echo_queue_notify(void *dev, unsigned int idx)
{
	struct echo_dev *e = dev;
	virtio_mmio_process_queue(&e->transport, idx, echo_process_requests);
}

static const struct virtio_device_ops echo_ops = {
	.name = "echo",
	.device_id = ECHO_DEVICE_ID,
	.max_queues = 1,
	.features = echo_features,
	.queue_max_size = echo_queue_max_size,
	.queue_notify = echo_queue_notify,
};

/* ---- life ---- */

static int echo_create(const struct device_create_args *a, void **out)
{
	const struct echo_conf *conf = a->conf;
	struct echo_dev *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*out = e;
	e->mem = a->mem;
	e->greeting = conf->greeting;
	return virtio_mmio_init(&e->transport, &echo_ops, e, a->mem, a->loop, a->slot.addr,
				a->slot.gsi);
}

static void echo_destroy(void *dev)
{
	struct echo_dev *e = dev;
	virtio_mmio_destroy(&e->transport);
	free(e);
}

static struct virtio_mmio *echo_transport(void *dev)
{
	return &((struct echo_dev *)dev)->transport;
}

/* ---- API: GET and PATCH /echo ---- */

static void get_echo(const struct device_route_ctx *ctx, struct api_request *req)
{
	int index = device_confs_find(ctx->confs, ctx->type, NULL);
	if (index < 0) {
		api_fail(req, HTTP_BAD_REQUEST, "no echo device is configured");
		return;
	}
	const struct echo_conf *conf = ctx->confs->list[index].conf;
	struct device *d = device_route_instance(ctx, index);
	json_int_t chains = -1;
	if (d) {
		struct echo_dev *e = d->dev;
		pthread_mutex_lock(&e->transport.lock);
		chains = (json_int_t)e->counters.chains;
		pthread_mutex_unlock(&e->transport.lock);
	}
	api_ok(req,
	       json_pack("{s:I, s:I}", "greeting", (json_int_t)conf->greeting, "chains", chains));
}

static void patch_echo(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct echo_conf update, *conf;
	struct schema_error err;
	int index = device_confs_find(ctx->confs, ctx->type, NULL);
	if (!device_route_parse(req, &echo_schema, &update, sizeof(update)))
		return;
	if (index < 0 || !(conf = device_conf_dup(ctx->type, ctx->confs->list[index].conf))) {
		api_fail(req, HTTP_BAD_REQUEST, "no echo device is configured");
		return;
	}
	conf->greeting = update.greeting;
	if (ctx->set_conf(ctx, index, conf, &err) < 0) {
		device_route_fail(req, &err);
		return;
	}
	struct device *d = device_route_instance(ctx, index);
	if (d) {
		struct echo_dev *e = d->dev;
		pthread_mutex_lock(&e->transport.lock);
		e->greeting = update.greeting;
		pthread_mutex_unlock(&e->transport.lock);
	}
	api_ok(req, NULL);
}

static const struct device_route echo_routes[] = {
	{ "GET", "", get_echo },
	{ "PATCH", "", patch_echo },
	{ NULL },
};

/* ---- counters and state ---- */

static const void *echo_counters_of(void *dev)
{
	return &((struct echo_dev *)dev)->counters;
}

static const struct metric_field echo_metrics[] = {
	METRIC(struct echo_counters, chains),
	METRIC(struct echo_counters, bytes),
};

#define ECHO_STATE_TAG STATE_TAG('E', 'C', 'H', 'O')

struct echo_record {
	uint32_t greeting;
	uint32_t pad;
	struct echo_counters counters;
};

static int echo_save(void *dev, struct state_stream *s)
{
	const struct echo_dev *e = dev;
	struct echo_record r = { .greeting = e->greeting, .counters = e->counters };
	int ret = virtio_mmio_save(&e->transport, s);
	return ret ? ret : state_put(s, ECHO_STATE_TAG, &r, sizeof(r));
}

static int echo_restore(void *dev, struct state_stream *s)
{
	struct echo_dev *e = dev;
	struct echo_record r;
	int ret = virtio_mmio_restore(&e->transport, s);
	if (ret == 0)
		ret = state_get(s, ECHO_STATE_TAG, &r, sizeof(r));
	if (ret == 0) {
		e->greeting = r.greeting;
		e->counters = r.counters;
	}
	return ret;
}

const struct device_type echo_device_type = {
	.name = "echo",
	.noun = "echo device",
	.section = "echo",
	.schema = &echo_schema,
	.conf_size = sizeof(struct echo_conf),
	.check = echo_check,
	.create = echo_create,
	.destroy = echo_destroy,
	.transport = echo_transport,
	.routes = echo_routes,
	.metrics = echo_metrics,
	.nr_metrics = ARRAY_SIZE(echo_metrics),
	.counters = echo_counters_of,
	.save = echo_save,
	.restore = echo_restore,
};
