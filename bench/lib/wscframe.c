/* wscframe.c - see wscframe.h. */
#include "wscframe.h"

#include <string.h>

size_t wscframe_write(unsigned char *out, int opcode, const void *data, size_t len)
{
	static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
	size_t hl = len < 126 ? 6 : 8;

	if (len > WSCFRAME_OUT_MAX)
		return 0;
	out[0] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (unsigned char)(0x80 | len);
	} else {
		out[1] = 0x80 | 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
	}
	memcpy(out + hl - 4, key, 4);
	for (size_t i = 0; i < len; i++)
		out[hl + i] = ((const unsigned char *)data)[i] ^ key[i & 3];
	return hl + len;
}

/* Headers byte-wise, payload in runs. */
int wscframe_read(struct wscframe_in *r, const unsigned char *p, size_t len,
                  const struct wscframe_ops *ops, void *priv)
{
	const unsigned char *end = p + len;

	while (p < end) {
		int op;

		if (!r->in_payload) {
			r->hdr[r->hlen++] = *p++;
			if (r->hlen == 2)
				r->hneed = 2 + ((r->hdr[1] & 0x7f) == 126   ? 2
				                : (r->hdr[1] & 0x7f) == 127 ? 8
				                                            : 0);
			if (r->hlen < 2 || r->hlen < r->hneed)
				continue;
			if (r->hdr[1] & 0x80)
				return -1;
			r->remain = r->hdr[1] & 0x7f;
			if (r->hneed > 2) {
				r->remain = 0;
				for (size_t i = 2; i < r->hneed; i++)
					r->remain = r->remain << 8 | r->hdr[i];
			}
			r->fin = (r->hdr[0] & 0x80) != 0;
			if ((r->hdr[0] & 0x0f) != 0 && (r->hdr[0] & 0x0f) < 8)
				r->opcode = r->hdr[0] & 0x0f;
			r->ctl_len = 0;
			r->in_payload = 1;
		}
		op = r->hdr[0] & 0x0f;
		if (r->remain) {
			size_t k =
			    r->remain < (uint64_t)(end - p) ? (size_t)r->remain : (size_t)(end - p);

			if (op >= 8) {
				size_t room = sizeof(r->ctl) - r->ctl_len;

				memcpy(r->ctl + r->ctl_len, p, k < room ? k : room);
				r->ctl_len += k < room ? k : room;
			} else if (r->opcode == 1) {
				ops->payload(priv, p, k);
			}
			p += k;
			r->remain -= k;
		}
		if (!r->remain) {
			r->in_payload = 0;
			r->hlen = 0;
			if (ops->frame_end(priv, op, r->fin, r->ctl, r->ctl_len))
				return 1;
		}
	}
	return 0;
}
