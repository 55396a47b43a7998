#!/usr/bin/env bash
# Hash flood: shows that password hashing is bounded (PasswordConfig::hashing), so a flood
# of sign-ins neither exhausts the server's memory nor slows its authenticated requests.
#
# Builds example-server in release, starts it fresh (temporary SQLite database and key
# file), signs up a user for a session token, then for DURATION runs at once:
#
#   flood  wrk -c FLOOD_CONNECTIONS (200): POST /auth/sign-in, a new unknown email on
#          every request (each costs one Argon2id verification of a dummy hash, 19 MiB),
#          each from a client address of its own (the server trusts 127.0.0.1 as its
#          proxy, and the request says X-Forwarded-For: 10.x.y.z): a botnet, which the
#          per-account and per-network sign-in limits do not stop, so the pool must,
#          counting the answers: 401 (hashed, INVALID_CREDENTIALS) and 503 (OVERLOADED,
#          refused at once with Retry-After);
#   probe  wrk -c PROBE_CONNECTIONS (4) --latency: GET /api/data with the session token
#          (Bearer), the authenticated requests whose latency must not suffer.
#
# A short probe run before the flood gives the quiet latency. Reports the server's RSS
# before, its peak RSS (VmHWM of /proc/PID/status) and most threads during the flood, and
# the probe's p50/p99; fails if the peak RSS exceeds RSS_LIMIT_MB or the probe's p99
# exceeds P99_LIMIT_MS, or if no sign-in was hashed or none refused.
#
# Settings (environment): DURATION (20s), FLOOD_CONNECTIONS (200), PROBE_CONNECTIONS (4),
# RSS_LIMIT_MB (128), P99_LIMIT_MS (100), QUIET (5s: the probe before the flood), PROFILE
# (release; CI's smoke run uses PROFILE=debug DURATION=5s QUIET=2s RSS_LIMIT_MB=1024
# P99_LIMIT_MS=1000), RUST_LOG (warn). Honours CARGO_TARGET_DIR. docs/benchmarks.md has
# the numbers of a run, the command, and why the RSS limit is what it is.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-200}
PROBE_CONNECTIONS=${PROBE_CONNECTIONS:-4}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-128}
P99_LIMIT_MS=${P99_LIMIT_MS:-100}
QUIET=${QUIET:-5s}
PROFILE=${PROFILE:-release}
export RUST_LOG=${RUST_LOG:-warn}

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "hash-flood: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
done

. scripts/example-server.sh
build_example_server "$PROFILE"
server_bin=$example_server_bin
# The flood's requests name their client in X-Forwarded-For, through the trusted loopback.
export AUTH_TRUSTED_PROXIES=127.0.0.1
start_example_server "$server_bin"

status_kb() { # status_kb <field>: a field of the server's /proc status, in kB
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$server_pid/status"
}
threads() { awk '$1 == "Threads:" {print $2}' "/proc/$server_pid/status"; }
to_ms() { # wrk's latency ("812.00us", "3.10ms", "1.20s") in milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}
percentile() { # percentile <wrk output> <50%|99%>
  printf '%s\n' "$1" | awk -v p="$2" '$1 == p {print $2}'
}

# --- A user with a session token ---------------------------------------------------------

email="flood-$(date +%s)@example.com"
password="hash flood password 123"
token=$(curl -fsS -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"mode\":\"token\"}" "$base/auth/sign-up" |
  grep -o '"session_token":"[^"]*"' | cut -d '"' -f 4)
[ -n "$token" ] || { echo "hash-flood: no session token" >&2; exit 1; }
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/api/data" ||
  { echo "hash-flood: /api/data refused the session" >&2; exit 1; }

# --- The flood's requests: a new unknown email each, answers counted by status -----------

cat >"$tmp/flood.lua" <<'LUA'
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  sent = 0
  statuses = {}
  overloaded = 0
end
function request()
  sent = sent + 1
  local body = string.format(
    '{"email":"nobody-%d-%d@example.com","password":"not the password 123"}', id, sent)
  local client = string.format("10.%d.%d.%d", id, math.floor(sent / 250) % 250, sent % 250)
  return wrk.format("POST", "/auth/sign-in",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = client }, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and body:find('"OVERLOADED"', 1, true) then
    overloaded = overloaded + 1
  end
end
function done(summary, latency, requests)
  local totals, refused = {}, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      totals[code] = (totals[code] or 0) + n
    end
    refused = refused + thread:get("overloaded")
  end
  for code, n in pairs(totals) do
    io.write(string.format("status %d %d\n", code, n))
  end
  io.write(string.format("overloaded %d\n", refused))
  io.write(string.format("flood-p50 %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("flood-p99 %.2f\n", latency:percentile(99) / 1000))
end
LUA

probe() { # probe <duration>: wrk's output for the authenticated GET
  wrk -t 1 -c "$PROBE_CONNECTIONS" -d "$1" --latency -H "Authorization: Bearer $token" \
    "$base/api/data"
}

# --- Quiet, then flooded -------------------------------------------------------------------

quiet=$(probe "$QUIET")
rss_before=$(status_kb VmRSS)
threads_before=$(threads)

: >"$tmp/threads"
(while kill -0 "$server_pid" 2>/dev/null; do threads >>"$tmp/threads" 2>/dev/null || true; sleep 0.2; done) &
sampler=$!
wrk -t 2 -c "$FLOOD_CONNECTIONS" -d "$DURATION" --timeout 30s -s "$tmp/flood.lua" \
  "$base/auth/sign-in" >"$tmp/flood.out" 2>&1 &
flood=$!
sleep 1 # the flood is under way before the probe starts
flooded=$(probe "$DURATION")
wait "$flood"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

peak_kb=$(status_kb VmHWM)
max_threads=$(sort -n "$tmp/threads" | tail -n 1)
hashed=$(awk '$1 == "status" && $2 == 401 {print $3}' "$tmp/flood.out")
refused=$(awk '$1 == "overloaded" {print $2}' "$tmp/flood.out")
other=$(awk '$1 == "status" && $2 != 401 && $2 != 503 {n += $3} END {print n + 0}' "$tmp/flood.out")
flood_rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/flood.out")
quiet_p50=$(to_ms "$(percentile "$quiet" 50%)")
quiet_p99=$(to_ms "$(percentile "$quiet" 99%)")
p50=$(to_ms "$(percentile "$flooded" 50%)")
p99=$(to_ms "$(percentile "$flooded" 99%)")
probe_rps=$(printf '%s\n' "$flooded" | awk '/^Requests\/sec:/ {print $2}')
probe_errors=$(printf '%s\n' "$flooded" | awk '/Non-2xx or 3xx responses|Socket errors/ {print}')

echo "hash-flood: $FLOOD_CONNECTIONS connections signing in with unknown emails for $DURATION," \
  "$PROBE_CONNECTIONS probing GET /api/data (server pid $server_pid, $(nproc) CPUs)"
printf '  sign-ins        %s req/s: %s hashed (401), %s refused at once (503 OVERLOADED), %s other\n' \
  "$flood_rps" "${hashed:-0}" "${refused:-0}" "$other"
printf '  sign-in latency p50 %s ms, p99 %s ms\n' \
  "$(awk '$1 == "flood-p50" {print $2}' "$tmp/flood.out")" "$(awk '$1 == "flood-p99" {print $2}' "$tmp/flood.out")"
printf '  server RSS      %d MB before, peak %d MB (limit %d MB); threads %s before, at most %s\n' \
  "$((rss_before / 1024))" "$((peak_kb / 1024))" "$RSS_LIMIT_MB" "$threads_before" "$max_threads"
printf '  GET /api/data   quiet p50 %s ms p99 %s ms; flooded p50 %s ms p99 %s ms (limit %s ms), %s req/s\n' \
  "$quiet_p50" "$quiet_p99" "$p50" "$p99" "$P99_LIMIT_MS" "$probe_rps"

fail=0
[ -z "$probe_errors" ] || { echo "hash-flood: the probe saw errors: $probe_errors" >&2; fail=1; }
[ "$((peak_kb / 1024))" -le "$RSS_LIMIT_MB" ] || { echo "hash-flood: peak RSS over the limit" >&2; fail=1; }
awk -v p="$p99" -v l="$P99_LIMIT_MS" 'BEGIN {exit !(p <= l)}' ||
  { echo "hash-flood: probe p99 over the limit" >&2; fail=1; }
[ "${hashed:-0}" -gt 0 ] || { echo "hash-flood: no sign-in was hashed" >&2; fail=1; }
[ "${refused:-0}" -gt 0 ] || { echo "hash-flood: no sign-in was refused: is the bound on?" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "hash-flood: ok"
exit "$fail"
