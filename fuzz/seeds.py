#!/usr/bin/python3
"""seeds.py - writes the hand-made seed inputs of the fuzz corpora for the
harnesses whose inputs are structured (fuzz/corpus/{wsmsg,http_parse,hub}).
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


if __name__ == "__main__":
    main()
