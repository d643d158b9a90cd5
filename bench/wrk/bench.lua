-- One wrk script for every scenario. Environment:
--   BENCH_PATH    request path (chooses the route / algorithm)
--   BENCH_TOKENS  file of bearer tokens, one a line; one line = the same token on every request,
--                 several = round-robin (each thread starts at its own offset)
--   BENCH_COUNT   "1" to classify responses (200 = served, 401/403 = refused, other = unexpected)
-- done() prints one line: BENCH requests duration_us p50_us p99_us socket_errors status_errors
-- ok refused other

local path = os.getenv("BENCH_PATH") or "/"
local tokens = {}
local file = assert(io.open(assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS is not set"), "r"))
for line in file:lines() do
  if #line > 0 then tokens[#tokens + 1] = line end
end
file:close()
assert(#tokens > 0, "no tokens")

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  ok, refused, other = 0, 0, 0
  counter = (id or 0) * 7919 % #tokens + 1
  wrk.method = "GET"
  wrk.path = path
  wrk.headers["Authorization"] = "Bearer " .. tokens[1]
end

if #tokens > 1 then
  function request()
    local token = tokens[counter]
    counter = counter % #tokens + 1
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
  end
end

if os.getenv("BENCH_COUNT") == "1" then
  function response(status, headers, body)
    if status == 200 then
      ok = ok + 1
    elseif status == 401 or status == 403 then
      refused = refused + 1
    else
      other = other + 1
    end
  end
end

function done(summary, latency, requests)
  local o, r, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + (t:get("ok") or 0)
    r = r + (t:get("refused") or 0)
    x = x + (t:get("other") or 0)
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, o, r, x))
end
