-- wrk script: POST one pre-signed body, over and over. bench/ingest.py writes the body to a
-- file and passes its path and the signature headers in the environment.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["content-type"] = "application/json"
wrk.headers["x-app-uuid"] = os.getenv("BENCH_APP_UUID")
wrk.headers["x-signature"] = os.getenv("BENCH_SIGNATURE")
wrk.headers["x-timestamp"] = os.getenv("BENCH_TIMESTAMP")

-- One machine-readable line: bench/ingest.py parses it. Every non-2xx answer is counted in
-- errors.status; the endpoints answer 202 and nothing else on success.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
