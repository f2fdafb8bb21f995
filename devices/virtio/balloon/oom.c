// SPDX-License-Identifier: GPL-2.0
/*
 * deflate-on-oom. The guest may give pages back under memory pressure
 * although the target says keep them; it then lowers "actual". The
 * operator's target (requested_pages) is never changed by the guest: ebb
 * shows the guest its own size as the target for a while, so the guest's
 * inflate worker does not fight the OOM, and asks for the operator's target
 * again after a backoff that doubles with each OOM deflate, up to a limit,
 * until the operator sets a target again. A guest that did not ack
 * DEFLATE_ON_OOM, or that only rewrites actual, changes nothing.
 */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"

/*
 * An OOM deflate is seen on the vCPU thread that wrote actual, whose seccomp
 * filter has no timerfd_settime (nor should it): the event loop arms the
 * timer when the kick arrives. With the device lock.
 */
static void arm(struct balloon *b, uint32_t seconds)
{
	uint64_t one = 1;
	b->oom_arm_s = seconds;
	if (b->oom_kick_fd >= 0 && write(b->oom_kick_fd, &one, sizeof(one)) < 0)
		log_warn_limited(&b->log_oom, "balloon: cannot kick the OOM backoff timer: %s",
				 strerror(errno));
}

void balloon_oom_kicked(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t n;
	if (read(b->oom_kick_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&b->transport.lock);
	struct itimerspec its = { .it_value = { .tv_sec = b->oom_arm_s } };
	timerfd_settime(b->oom_timer_fd, 0, &its, NULL);
	pthread_mutex_unlock(&b->transport.lock);
}

void balloon_oom_actual_changed(struct balloon *b, uint32_t old_actual)
{
	if (!b->deflate_on_oom_acked || b->actual >= old_actual || b->actual >= b->num_pages)
		return;
	if (!b->oom_backoff_s)
		b->oom_backoff_s = b->params.oom_backoff_min_s;
	else
		b->oom_backoff_s = MIN(2 * b->oom_backoff_s, b->params.oom_backoff_max_s);
	b->counters.oom_deflates++;
	log_info_limited(&b->log_oom,
			 "balloon: guest deflated on OOM to %u MiB (target %u MiB); asking again in %u s",
			 b->actual / BALLOON_PAGES_PER_MIB,
			 b->requested_pages / BALLOON_PAGES_PER_MIB, b->oom_backoff_s);
	/* Config-space only, no interrupt: the guest must not start inflating now. */
	b->num_pages = b->actual;
	b->transport.config_generation++;
	arm(b, b->oom_backoff_s);
}

void balloon_oom_timer_fired(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t expirations;
	if (read(b->oom_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&b->transport.lock);
	if (b->num_pages < b->requested_pages && virtio_mmio_driver_ok(&b->transport)) {
		b->num_pages = b->requested_pages;
		b->counters.oom_reasks++;
		b->counters.config_interrupts++;
		log_info_limited(&b->log_oom, "balloon: asking the guest again for %u MiB",
				 b->requested_pages / BALLOON_PAGES_PER_MIB);
		virtio_mmio_config_changed(&b->transport);
	}
	pthread_mutex_unlock(&b->transport.lock);
}

void balloon_oom_forget(struct balloon *b)
{
	b->oom_backoff_s = 0;
	arm(b, 0);
}
