#!/usr/bin/python3
"""seeds.py - writes the hand-made seed inputs of the fuzz corpora for the
harnesses whose inputs are structured (fuzz/corpus/{wsmsg,http_parse,hub,
http_server}).
Run once from the repository root when the formats change; the files are
committed. Inputs found by fuzzing (regressions) are committed beside them
under names starting with "crash-" or "regress-"."""
import os

MATCH = (b'{"type":"match","ride_id":"ride-1795347257272-2","rider":{"id":"1795347257272-2","name":"Tanvir",'
         b'"location":{"x":799.84,"y":95.74},"destination":{"x":911.2,"y":659.93}},"driver":{"id":'
         b'"1795347257270-2","name":"Shirin","car_number":"RAJ-62-4495","location":{"x":96.25,"y":55.32}},'
         b'"distance":704.75,"fare":1409.5,"currency":"BDT","matched_at_ms":1795347257463,'
         b'"rating_token":"56563452949b84429681b060f8d02d27"}')


def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    c = "fuzz/corpus/wsmsg"
    put(c, "match", MATCH[:-1] + b',"cursor":"1795347257470-21"}')
    put(c, "match-no-token", MATCH.replace(b',"rating_token":"56563452949b84429681b060f8d02d27"', b''))
    put(c, "welcome", b'{"type":"welcome","client_id":"bot-7","role":"client","cursor":"0-0","resumed":3}')
    put(c, "error", b'{"type":"error","error":"say hello first","field":"type"}')
    put(c, "stats", b'{"type":"stats","ts_ms":1,"waiting":{"riders":1,"drivers":2},"riders":[[1,2]]}')
    put(c, "accepted", b'{"id":"1795347257272-2","expires_in_ms":5000}')
    put(c, "bad-token", MATCH.replace(b'5656345294', b'56 "\\u0000'))

    c = "fuzz/corpus/http_parse"
    ok = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"id\":\"1-0\",\"a\":500}"
    put(c, "202-whole", b"\x00" + ok)
    put(c, "202-bytewise", b"\x01" + ok)
    put(c, "202-by7", b"\x07" + ok)
    put(c, "close-delimited", b"\x05HTTP/1.0 503 Service Unavailable\r\nConnection: close\r\n\r\n{\"error\":\"x\"}")
    put(c, "204", b"\x00HTTP/1.1 204 No Content\r\nConnection: keep-alive, Upgrade\r\n\r\n")
    put(c, "chunked", b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    put(c, "extra", b"\x00" + ok + b"HTTP/1.1 200 OK\r\n")
    put(c, "url", b"\x00http://127.0.0.1:8080/prefix/")
    put(c, "url6", b"\x00http://[::1]:80")

    # hub scripts: [op | socket << 4][len][bytes]
    def op(o, sock=0, data=b""):
        assert len(data) < 256
        return bytes([o | (sock << 4), len(data)]) + data
    hello = lambda cid: b'{"type":"hello","client_id":"%s"}' % cid
    c = "fuzz/corpus/hub"
    put(c, "hello-ping", op(0) + op(1, 0, hello(b"a")) + op(1, 0, b'{"type":"ping"}') + op(7))
    put(c, "match-deliver", op(0) + op(1, 0, hello(b"a")) + op(0, 1) + op(1, 1, b'{"type":"hello","role":"viewer"}')
        + op(4, 1, MATCH[:250]) + op(7) + op(7, 1) + op(5) + op(7, 1))
    put(c, "resume", op(0) + op(4, 1, b'{"type":"match","ride_id":"ride-1-0","rating_token":"ab","x":[1,{"y":"}"}]}')
        + op(6) + op(1, 0, b'{"type":"hello","client_id":"a","resume_after":"0-0"}') + op(7))
    put(c, "fragments", op(0) + op(2, 0, b'{"type":"he') + op(2, 0, b'llo","client_id":') + op(1, 0, b'"b"}') + op(7))
    put(c, "garbage", op(0) + op(1, 0, b"{") * 4 + op(3, 0, b"\x00\x01") + op(7))
    put(c, "timeouts", op(0) + op(6) * 8 + op(7) + op(0, 1) + op(1, 1, hello(b"b")) + op(6) * 6 + op(8, 1))
    put(c, "rewrite", op(9, 0, b'{ "rating_token" : "x" , "type" : "match" }'))
    put(c, "rewrite-last", op(9, 0, b'{"type":"match","a":{"rating_token":1},"rating_token":"t"}'))

    # http_server: [how the rest is written: 0 all at once, n chunks of n
    # bytes] then raw bytes to a service port
    def req(method, path, body=b"", headers=b""):
        return (b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path) + headers
                + (b"Content-Length: %d\r\n" % len(body) if body else b"") + b"\r\n" + body)
    c = "fuzz/corpus/http_server"
    j = b'{"name":"K","car_number":"A-1","location":{"x":1,"y":2}}'
    put(c, "get-query", b"\0" + req(b"GET", b"/q?limit=2&a=b&&x=1%26y%3D2&a=%41+b"))
    put(c, "post-sync", b"\0" + req(b"POST", b"/sync", j))
    put(c, "post-async-split", b"\x03" + req(b"POST", b"/async", j))
    put(c, "keep-alive", b"\x40" + req(b"GET", b"/healthz") + req(b"GET", b"/metrics"))
    # two POSTs in one write spun lws 4.1.6 for good (lib/http.c refuses them)
    put(c, "crash-pipelined-posts", b"\0" + req(b"POST", b"/sync", b"{}") * 2)
    put(c, "crash-pipelined-async", b"\0" + req(b"POST", b"/async", j) * 2)
    put(c, "pipelined-get-post", b"\0" + req(b"GET", b"/q") * 2 + req(b"POST", b"/sync", b"{}"))
    put(c, "unknown-method", b"\0" + req(b"FOO", b"/sync"))
    put(c, "nul-in-query", b"\0" + req(b"GET", b"/q?a=%00"))
    put(c, "bad-escape", b"\0" + req(b"GET", b"/p/%zz/..%2F%2e%2e/x?a=%2"))
    put(c, "h2c", b"\0" + req(b"GET", b"/q", headers=b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                                                    b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"))
    put(c, "websocket-upgrade", b"\0" + req(b"GET", b"/q", headers=b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                                                  b"Sec-WebSocket-Version: 13\r\n"
                                                                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"))
    put(c, "bare-close", b"\0")
    put(c, "half-request-line", b"\0GET /q")
    put(c, "short-body", b"\0POST /async HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a")
    put(c, "big-body", b"\0" + req(b"POST", b"/sync", b"[" * 300))
    put(c, "long-query", b"\0" + req(b"GET", b"/q?a=" + b"b" * 1100 + b"&limit=2"))
    put(c, "many-headers", b"\0" + req(b"GET", b"/q", headers=b"Accept: a\r\n" * 150))
    put(c, "huge-header", b"\0" + req(b"GET", b"/q", headers=b"X-A: " + b"a" * 40000 + b"\r\n"))
    put(c, "chunked", b"\0POST /sync HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    put(c, "bad-length", b"\0" + req(b"POST", b"/sync", headers=b"Content-Length: -5\r\n"))
    put(c, "http10", b"\0GET /q?limit=1 HTTP/1.0\r\n\r\n")


if __name__ == "__main__":
    main()
