-- wrk script of `xinfang bench gateways`: POSTs the benchmark query and counts every answer
-- that is not the verified one (status other than 200, or a body of another length).
-- usage: wrk ... -s load.lua URL -- BODY_FILE EXPECTED_LENGTH
-- The summary is one line on stdout: "XINFANG-WRK {json}".
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local req
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  expected = tonumber(args[2])
  wrong = 0
  req = wrk.format()
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 200 or #body ~= expected then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local wrong_total = 0
  for _, thread in ipairs(threads) do
    wrong_total = wrong_total + thread:get("wrong")
  end
  local e = summary.errors
  io.write(string.format(
    'XINFANG-WRK {"requests":%d,"duration_us":%d,"bytes":%d,"wrong":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, wrong_total,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
