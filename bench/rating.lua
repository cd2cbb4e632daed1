-- rating.lua - wrk script for bench/run.sh (ratings): POST /rating, each
-- request a different ride. bench/run.sh writes the rides ride:rb-<i>
-- (i = 0..N-1, token "benchtoken", as the matcher would) into Redis and
-- empties the ratings table before each run; thread t of (at most) two
-- takes rides t, t+2, t+4, ... (wraps around after N: those answer 409).
-- Counts the answers by status and prints one line
--   WRKJSON {"requests":..,"duration_us":..,"status":{"201":..,"409":..,"other":..},
--            "errors":{..},"latency_us":{..}}
-- Usage: wrk -t1|2 -cC -dS -s bench/rating.lua http://host:port/rating -- N

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

local n, i, path
c201, c409, cother = 0, 0, 0

function init(args)
   n = tonumber(args[1] or "100000")
   i = tid
   path = wrk.path
   if path == nil or path == "" then path = "/rating" end
end

function request()
   local id = i % n
   i = i + 2
   local body = string.format(
      '{"ride_id":"rb-%d","rating":%d,"rating_token":"benchtoken"}', id, 1 + id % 5)
   return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
   if status == 201 then c201 = c201 + 1
   elseif status == 409 then c409 = c409 + 1
   else cother = cother + 1 end
end

function done(summary, latency, requests)
   local a, b, c = 0, 0, 0
   for _, t in ipairs(threads) do
      a = a + (t:get("c201") or 0)
      b = b + (t:get("c409") or 0)
      c = c + (t:get("cother") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"status":{"201":%d,"409":%d,"other":%d},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, summary.duration, a, b, c,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
