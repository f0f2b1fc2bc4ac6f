-- wrk script: replay the requests of a file, one per line
-- ("METHOD<tab>PATH<tab>Header: value<tab>BODY"), written by bench/workload.py.
--
--   wrk -s bench/requests.lua URL -- FILE EXPECTED_STATUS RUN_ID
--
-- Each thread walks the lines from a random one, so every request is the
-- next person (or sender) and each comes back only after all the others.
-- A POST gets a fresh Idempotency-Key (RUN_ID, thread, count). At the end it
-- prints one line of JSON: requests, seconds, p99 in ms, the answers other
-- than EXPECTED_STATUS by status, and socket errors (timeouts included).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  pool = {}
  for line in io.lines(args[1]) do
    local method, path, header, body = line:match("^(%u+)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local name, value = header:match("^([^:]+): (.*)$")
    table.insert(pool, {method = method, path = path, name = name, value = value, body = body})
  end
  expected = tonumber(args[2])
  run = args[3]
  statuses = {}
  sent = 0
  math.randomseed(os.time() * 100 + number)
  position = math.random(#pool)
end

function request()
  position = position % #pool + 1
  local entry = pool[position]
  local headers = {[entry.name] = entry.value}
  local body = nil
  if entry.method == "POST" then
    sent = sent + 1
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = string.format("%s-%d-%d", run, number, sent)
    body = entry.body
  end
  return wrk.format(entry.method, entry.path, headers, body)
end

function response(status, headers, body)
  if status ~= expected then
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts, unexpected = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  for status, count in pairs(counts) do
    table.insert(unexpected, string.format('"%s": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'kudos-wrk {"requests": %d, "seconds": %.3f, "p99_ms": %.2f, ' ..
    '"unexpected": {%s}, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(99) / 1000,
    table.concat(unexpected, ", "),
    errors.connect + errors.read + errors.write + errors.timeout))
end
