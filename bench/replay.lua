-- wrk script: replay pre-signed requests from a file (one "signature<TAB>body" a line),
-- each thread from its own offset, and print a JSON summary at the end.
local requests = {}
local index = 0

function init(args)
  local path, file = args[1], args[2]
  local n = 0
  for line in io.lines(file) do
    local signature, body = line:match("^([^\t]*)\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
  index = math.random(n)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "errors_status": %d, "errors_connect": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status, summary.errors.connect,
    latency:percentile(50), latency:percentile(99)))
end
