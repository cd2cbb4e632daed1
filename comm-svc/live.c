/* live.c - liveness, once a second: quiet sockets are pinged, ones that do
 * not answer in time are closed, so are ones that never said hello; a close
 * that could not be written within close_grace_ms is cut (hub_ops.kill). */
#include "hub_impl.h"

#include "log.h"

#include <stdio.h>

void live_tick(struct hub *h, uint64_t now)
{
	struct hub_sock *s, *next;
	unsigned long long skipped;
	char why[100];

	for (s = h->all; s; s = next) {
		next = s->next; /* kill may free s */
		if (s->closing) {
			/* a close frame that could not be written (peer not reading) */
			if (now >= s->closing_ms + h->cfg.close_grace_ms) {
				h->c.kills++;
				h->ops.kill(s->user);
			}
			continue;
		}
		if (!s->hello && !s->held && now > s->created_ms + h->cfg.hello_timeout_ms) {
			h->c.closes_policy++;
			queue_close(s, 1008, "no hello", -1);
			continue;
		}
		if (s->ping_sent_ms) {
			if (now > s->ping_sent_ms + h->cfg.ping_timeout_ms) {
				h->c.ping_timeouts++;
				snprintf(why, sizeof(why), "no pong in %llu ms",
				         (unsigned long long)h->cfg.ping_timeout_ms);
				if (hub_log_ok(h, RLOG_PING, &skipped))
					log_info("socket of %s: %s, closing it%s",
					         s->cid[0] ? s->cid : "-", why,
					         skipped ? " (similar lines suppressed)" : "");
				queue_close(s, 1008, why, HUB_DROP_DEAD);
			}
		} else if (now >= s->last_rx_ms + h->cfg.ping_ms) {
			s->ping_sent_ms = now;
			s->ping_due = 1;
			h->ops.want_write(s->user);
		}
	}
}
