-- wrk script of bench/serving/compare_serving.py: POSTs JSON bodies to /embed, cycling through the lines
-- of a file (one request body per line, in order), and prints one JSON summary line at the end.
--
--   wrk -t1 -c8 -d15s --timeout 60s -s bench/serving/serve_post.lua http://127.0.0.1:8000 -- BODIES_FILE [close]
--
-- With "close", every request says "Connection: close", so wrk opens a new connection for each.
-- The last line of output: WRK_JSON {"requests": n, "duration_us": t, "p50_us": .., "p99_us": ..,
-- "mean_us": .., "max_us": .., "errors": {...}}. Latencies are wrk's, per request, from sending it
-- to the end of its response.

local bodies = {}
local next_body = 1
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s serve_post.lua URL -- BODIES_FILE [close]")
  end
  if args[2] == "close" then
    headers["Connection"] = "close"  -- a new connection for every request
  end
  for line in io.lines(path) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error(path .. ": no request bodies")
  end
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/embed", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
