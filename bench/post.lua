-- post.lua - wrk script for bench/run.sh (ingest): POSTs rider requests
-- shaped like the bot's (name, location, destination, client_id; 64
-- pre-built bodies with varying coordinates, cycled so the generator costs
-- the same against every target), and prints one machine-readable line
--   WRKJSON {"requests":..,"duration_us":..,"errors":{..},"latency_us":{..}}
-- at the end. The path comes from the URL given to wrk.

local reqs = {}
local n = 0

function init(args)
   local path = wrk.path
   if path == nil or path == "" then path = "/rider" end
   for i = 1, 64 do
      local body = string.format(
         '{"name":"Rider%d","location":{"x":%.2f,"y":%.2f},' ..
         '"destination":{"x":%.2f,"y":%.2f},"client_id":"wrk-bench"}',
         i, (i * 151) % 1000 + 0.25, (i * 397) % 1000 + 0.5,
         (i * 613) % 1000 + 0.75, (i * 827) % 1000 + 0.125)
      reqs[i] = wrk.format("POST", path,
                           { ["Content-Type"] = "application/json" }, body)
   end
end

function request()
   n = n % 64 + 1
   return reqs[n]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
