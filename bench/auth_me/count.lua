-- wrk script for bench/auth_me: counts every response whose status is not 2xx (wrk's own
-- "Non-2xx or 3xx responses" counts only status >= 400) and prints machine-readable lines
-- that run.sh parses. Latencies are in microseconds.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  responses = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total, responses_total = 0, 0
  for _, t in ipairs(threads) do
    non2xx_total = non2xx_total + t:get("non2xx")
    responses_total = responses_total + t:get("responses")
  end
  local e = summary.errors
  io.write(string.format("BENCH responses=%d non2xx=%d status_errors=%d " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
      "requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      responses_total, non2xx_total, e.status, e.connect, e.read, e.write, e.timeout,
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
