// SPDX-License-Identifier: GPL-2.0
/*
 * Free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT), as Linux's driver
 * speaks it: the host puts a new command id in config space; the guest
 * sends that id on the free page queue, then one device-writable buffer per
 * free block it took (4 MiB), then STOP (0), and holds the blocks until the
 * host writes DONE (1) or until its shrinker wants them back. Since the
 * guest may reuse a hinted page at any time, nothing is discarded here: the
 * ranges are noted (mem_hint_add), and a snapshot leaves out those nobody
 * wrote since the run began (base/memory_dirty.c). Firecracker's routes
 * drive it: PATCH /balloon/hinting/start|stop, GET /balloon/hinting/status.
 */
#include <errno.h>
#include <jansson.h>
#include <linux/virtio_balloon.h>
#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "devices/conf.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/balloon/conf.h"

bool balloon_hinting_acked(const struct balloon *b)
{
	return b->roles.free_page_hint >= 0 && virtio_mmio_driver_ok(&b->transport);
}

static void set_host_cmd(struct balloon *b, uint32_t cmd)
{
	b->hinting.host_cmd = cmd;
	virtio_mmio_config_changed(&b->transport);
	b->counters.config_interrupts++;
}

int balloon_hinting_start(struct balloon *b, bool ack_on_stop)
{
	if (!b->params.hinting)
		return -ENOTSUP;
	if (!balloon_hinting_acked(b))
		return -EAGAIN;
	/* Writes from here on make a hinted page count again. */
	int ret = mem_hint_begin(b->mem);
	if (ret < 0)
		return ret;
	struct balloon_hinting *h = &b->hinting;
	uint32_t id = h->next_id;
	h->next_id = id == UINT32_MAX ? 2 : id + 1;
	h->ack_on_stop = ack_on_stop;
	h->hinted_bytes = 0;
	h->runs++;
	set_host_cmd(b, id);
	log_info("balloon: free page hinting run %u started", id);
	return 0;
}

int balloon_hinting_stop(struct balloon *b)
{
	if (!b->params.hinting)
		return -ENOTSUP;
	if (!balloon_hinting_acked(b))
		return -EAGAIN;
	set_host_cmd(b, VIRTIO_BALLOON_CMD_ID_DONE);
	return 0;
}

static bool run_active(const struct balloon *b)
{
	const struct balloon_hinting *h = &b->hinting;
	return h->host_cmd > VIRTIO_BALLOON_CMD_ID_DONE && h->guest_cmd_seen &&
	       h->guest_cmd == h->host_cmd;
}

/* A command from the guest: a run's id when it begins, STOP when it is done. */
static void guest_command(struct balloon *b, uint32_t cmd)
{
	struct balloon_hinting *h = &b->hinting;
	bool was_active = run_active(b);
	h->guest_cmd = cmd;
	h->guest_cmd_seen = true;
	if (cmd != VIRTIO_BALLOON_CMD_ID_STOP || !was_active)
		return;
	log_info_limited(&h->log_runs,
			 "balloon: free page hinting run %u: the guest hinted %llu MiB",
			 h->host_cmd, (unsigned long long)(h->hinted_bytes >> 20));
	if (h->ack_on_stop)
		set_host_cmd(b, VIRTIO_BALLOON_CMD_ID_DONE);
}

unsigned int balloon_process_hinting(void *dev, struct virtq *vq, unsigned int idx,
				     const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = dev;
	uint64_t hinted = 0;
	if (err != VQ_ERR_NONE) {
		b->counters.bad_descriptors++;
	} else if (vq_chain_readable_len(chain) == sizeof(uint32_t)) {
		uint32_t cmd;
		if (vq_chain_read(b->mem, chain, 0, &cmd, sizeof(cmd)) == 0)
			guest_command(b, cmd);
		else
			b->counters.bad_descriptors++;
	} else {
		for (unsigned int i = 0; i < chain->nr; i++) {
			const struct vq_buf *buf = &chain->bufs[i];
			/*
			 * Hints of a run the host already ended (or never began) count for
			 * nothing; nor do a poisoning guest's, whose free pages must hold
			 * its poison value, not the zeros a snapshot gives hinted pages.
			 */
			if (!buf->device_writable || !run_active(b) ||
			    (b->poison_acked && b->poison_val != 0)) {
				b->counters.bad_descriptors += !buf->device_writable;
				continue;
			}
			mem_hint_add(b->mem, buf->gpa, buf->len);
			hinted += buf->len;
			b->hinting.hinted_bytes += buf->len;
			b->counters.hinted_blocks++;
		}
	}
	vq_push(vq, chain->head, 0);
	virtio_mmio_used(&b->transport, idx);
	/* And one per 4 MiB hinted, the block Linux hints in: a larger one costs its size. */
	return 1 + chain->nr + (unsigned int)(hinted >> 22);
}

/* ---- routes ---- */

/* The running balloon with hinting configured, or NULL after answering. */
static struct balloon *hinting_balloon(const struct device_route_ctx *ctx, struct api_request *req)
{
	int index = device_confs_find(ctx->confs, ctx->type, NULL);
	const struct balloon_conf *conf = index >= 0 ? ctx->confs->list[index].conf : NULL;
	if (!conf) {
		api_fail(req, HTTP_BAD_REQUEST, "no balloon device is configured");
		return NULL;
	}
	if (!conf->free_page_hinting) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "free page hinting was not enabled when the balloon was configured "
			 "(balloon.free_page_hinting)");
		return NULL;
	}
	struct device *d = device_route_instance(ctx, index);
	if (!d)
		api_fail(req, HTTP_BAD_REQUEST, "free page hinting needs a running microVM");
	return d ? d->dev : NULL;
}

static void answer(struct api_request *req, int ret)
{
	if (ret == -EAGAIN)
		api_fail(req, HTTP_BAD_REQUEST,
			 "the guest's balloon driver has not accepted free page hinting (yet)");
	else if (ret < 0)
		api_fail(req, HTTP_BAD_REQUEST, "free page hinting: %s", strerror(-ret));
	else
		api_ok(req, NULL);
}

struct start_stage {
	bool ack_on_stop;
};

static const struct schema_field start_fields[] = {
	{ .name = "acknowledge_on_stop",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct start_stage, ack_on_stop) },
};

static const struct schema start_schema = SCHEMA_OF(start_fields);

void balloon_route_hinting_start(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct start_stage st = { .ack_on_stop = true };
	/* The body is optional; acknowledging is Firecracker's default. */
	if (req->body && !device_route_parse(req, &start_schema, &st, sizeof(st)))
		return;
	struct balloon *b = hinting_balloon(ctx, req);
	if (!b)
		return;
	pthread_mutex_lock(&b->transport.lock);
	int ret = balloon_hinting_start(b, st.ack_on_stop);
	pthread_mutex_unlock(&b->transport.lock);
	answer(req, ret);
}

void balloon_route_hinting_stop(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct balloon *b = hinting_balloon(ctx, req);
	if (!b)
		return;
	pthread_mutex_lock(&b->transport.lock);
	int ret = balloon_hinting_stop(b);
	pthread_mutex_unlock(&b->transport.lock);
	answer(req, ret);
}

void balloon_route_hinting_status(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct balloon *b = hinting_balloon(ctx, req);
	if (!b)
		return;
	pthread_mutex_lock(&b->transport.lock);
	const struct balloon_hinting *h = &b->hinting;
	json_t *out = json_pack("{s:I}", "host_cmd", (json_int_t)h->host_cmd);
	if (out && h->guest_cmd_seen)
		json_object_set_new(out, "guest_cmd", json_integer(h->guest_cmd));
	pthread_mutex_unlock(&b->transport.lock);
	api_ok(req, out);
}
