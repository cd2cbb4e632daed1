/* httpc.h - a small HTTP/1.1 client on a libuv loop for the bot: a fixed
 * pool of keep-alive TCP connections to one server, a FIFO of requests
 * waiting for a free connection, one request per connection at a time (no
 * pipelining), a timeout per request. Responses are parsed by http_parse.h.
 * Nothing blocks: name resolution happens once in hc_new, before the loop
 * runs. */
#ifndef RS_BOT_HTTPC_H
#define RS_BOT_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct hc_pool;

/* Called exactly once per request. status: the HTTP status; 0 for a
 * transport error (connect, read, write, timeout, malformed response; body
 * is then a static reason); -1 when the pool was closed first. body is
 * valid during the call only. latency_us: from hc_post to the response. */
typedef void (*hc_done_fn)(void *user, int status, const char *body, size_t len,
                           uint64_t latency_us);

/* Resolves host (may block: call before uv_run) and prepares nconns
 * connections (opened on demand). NULL on failure (logged). */
struct hc_pool *hc_new(uv_loop_t *loop, const char *host, int port, int nconns, int timeout_ms);
/* Queues a POST of body[0..len) (copied) as application/json. Returns 0, or
 * -1 (out of memory, pool closing; cb is then not called). cb may call
 * hc_post. */
int hc_post(struct hc_pool *p, const char *path, const char *body, size_t len, hc_done_fn cb,
            void *user);
/* Requests queued or on the wire. */
size_t hc_inflight(const struct hc_pool *p);
/* Fails every outstanding request (status -1), closes the connections and
 * frees the pool once libuv has closed its handles (keep running the loop). */
void hc_close(struct hc_pool *p);

#endif
