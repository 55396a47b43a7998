#!/usr/bin/env bash
# Load test of the example server: how much authentication costs per request when the
# session and API-key caches hit.
#
# Builds example-server in release, starts it on core 0 (taskset -c 0) with a temporary
# SQLite database, seeds a user (sign-up, then sign-in in token mode for a session token)
# and an API key (scope data:read, no rate limit) through the HTTP API, then runs wrk on
# core 1 (taskset -c 1) against, in this order and with the same settings:
#
#   healthz   GET /healthz       no credential, "ok"
#   public    GET /api/public    no credential, a JSON body built per request
#   session   GET /api/data      the session cookie; same handler body as /api/public,
#                                behind the route guard require_scope("data", "read")
#   api_key   GET /api/data      x-api-key: <key> (scope data:read)
#
# /api/public and /api/data do the same work but for authentication, so their ratio is
# what authenticating a request costs (the goal: >= 0.90 with the caches hitting).
#
# Each route gets a warm-up run, then the measured run; ROUNDS rounds go through the four
# routes in turn, so a disturbance hits all of them alike. Each run prints requests/s, the
# server's CPU use (% of its core), what else ran on that core, and requests per CPU-second
# of the server; then the medians and the ratio of each authenticated route to each
# unauthenticated one (goal: >= 0.90).
#
# Settings (environment): DURATION (10s), WARMUP (2s), CONNECTIONS (64), THREADS (1),
# ROUNDS (5), SERVER_CPU (0), CLIENT_CPU (1), RUST_LOG (warn: no per-request log lines).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
export RUST_LOG=${RUST_LOG:-warn}

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "load-test: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
done

cargo build -q --release -p example-server
server_bin="$PWD/target/release/example-server"

. scripts/example-server.sh
start_example_server "$server_bin" taskset -c "$SERVER_CPU"

# --- Seed through the HTTP API ---------------------------------------------------------

json_field() { # json_field <name> < body: the first string value of "name"
  grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d '"' -f 4
}
post() { # post <path> <json> [header]: the body; fails on a non-2xx status
  curl -fsS -X POST -H 'Content-Type: application/json' ${3:+-H "$3"} -d "$2" "$base$1"
}

email="load-$(date +%s)@example.com"
password="load test password 123"
post /auth/sign-up "{\"email\":\"$email\",\"password\":\"$password\",\"mode\":\"token\"}" >/dev/null
session_token=$(post /auth/sign-in "{\"email\":\"$email\",\"password\":\"$password\",\"mode\":\"token\"}" |
  json_field session_token)
[ -n "$session_token" ] || { echo "load-test: no session token" >&2; exit 1; }
api_key=$(post /auth/api-keys '{"name":"load test","scopes":["data:read"]}' \
  "Authorization: Bearer $session_token" | json_field secret)
[ -n "$api_key" ] || { echo "load-test: no API key" >&2; exit 1; }
# A browser's session: sign in in cookie mode, from the app's origin.
session_cookie=$(curl -fsS -o /dev/null -D - -X POST -H 'Content-Type: application/json' \
  -H "Origin: $base" -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
  "$base/auth/sign-in" | tr -d '\r' | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}')
[ -n "$session_cookie" ] || { echo "load-test: no session cookie" >&2; exit 1; }

# Each route answers 200 with the expected principal before it is measured.
check() { # check <name> <path> <expected text> [header]
  local body
  body=$(curl -fsS ${4:+-H "$4"} "$base$2") || { echo "load-test: $1: $2 failed" >&2; exit 1; }
  case "$body" in *"$3"*) ;; *) echo "load-test: $1: unexpected body $body" >&2; exit 1 ;; esac
  printf '  %-8s %4s bytes  %s\n' "$1" "${#body}" "$2"
}
echo "load-test: server pid $server_pid on $base (cpu $SERVER_CPU), wrk on cpu $CLIENT_CPU"
echo "load-test: response bodies:"
check healthz /healthz ok
check public /api/public '"server":"example-server"'
check session /api/data '"server":"example-server"' "Cookie: $session_cookie"
check api_key /api/data '"server":"example-server"' "x-api-key: $api_key"
# The same route refuses without a credential, so the guard really runs.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/data")" = 401 ] ||
  { echo "load-test: /api/data answered without a credential" >&2; exit 1; }

# --- Load --------------------------------------------------------------------------------

run_wrk() { # run_wrk <duration> <path> [header]: wrk's output
  taskset -c "$CLIENT_CPU" wrk -t "$THREADS" -c "$CONNECTIONS" -d "$1" --latency \
    ${3:+-H "$3"} "$base$2"
}
server_ticks() { # user and system CPU time of the server process (all threads), in ticks
  awk '{print $14, $15}' "/proc/$server_pid/stat"
}
core_busy_ticks() { # busy ticks of the server's core: user nice system irq softirq steal
  awk -v cpu="cpu$SERVER_CPU" '$1 == cpu {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}
hz=$(getconf CLK_TCK)

results="$tmp/results" # one line per run: round route req/s user-us/req sys-us/req
: >"$results"
measure() { # measure <round> <name> <path> [header]
  local out errors t0 t1 u0 u1 k0 k1 c0 c1 requests rps p99
  run_wrk "$WARMUP" "$3" "${4:-}" >/dev/null
  read -r u0 k0 < <(server_ticks); c0=$(core_busy_ticks); t0=$(date +%s.%N)
  out=$(run_wrk "$DURATION" "$3" "${4:-}")
  read -r u1 k1 < <(server_ticks); c1=$(core_busy_ticks); t1=$(date +%s.%N)
  errors=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses|Socket errors/ {print}')
  if [ -n "$errors" ]; then
    printf '%s\n' "$out" >&2
    echo "load-test: $2: errors during the run" >&2
    exit 1
  fi
  requests=$(printf '%s\n' "$out" | awk '/ requests in / {print $1}')
  rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
  # The server's share of its core, what else ran on that core, and the server's CPU time
  # per request, user (the app, hyper, tokio) and system (the kernel's TCP): a neighbour
  # on the core lowers requests/s but hardly the CPU time per request.
  awk -v round="$1" -v name="$2" -v rps="$rps" -v p99="$p99" -v n="$requests" -v hz="$hz" \
    -v u="$((u1 - u0))" -v k="$((k1 - k0))" -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" \
    -v results="$results" 'BEGIN {
      wall = (t1 - t0) * hz
      user = 1e6 * u / hz / n; sys = 1e6 * k / hz / n
      printf "%-5s %-8s %10.0f %9s %7.0f%% %6.0f%% %9.2f %9.2f\n", round, name, rps, p99,
        100 * (u + k) / wall, 100 * (c - u - k) / wall, user, sys
      printf "%s %s %s %.3f %.3f\n", round, name, rps, user, sys >> results }'
}

echo "load-test: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), $ROUNDS round(s)"
echo
printf '%-5s %-8s %10s %9s %8s %7s %9s %9s\n' round route 'req/s' p99 'srv cpu' other \
  'user us' 'sys us'
for round in $(seq 1 "$ROUNDS"); do
  measure "$round" healthz /healthz
  measure "$round" public /api/public
  measure "$round" session /api/data "Cookie: $session_cookie"
  measure "$round" api_key /api/data "x-api-key: $api_key"
done

# The summary: medians over the rounds, and for each authenticated route against each
# unauthenticated one the ratio of the median requests/s, the median of the rounds' own
# ratios (each round's runs are minutes apart at most), and the extra user CPU time.
awk -v rounds="$ROUNDS" '
  function median(list,   n, i, j, v, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
      t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
    }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { rps[$2] = rps[$2] " " $3; user[$2] = user[$2] " " $4; sys[$2] = sys[$2] " " $5
    at[$1, $2] = $3 }
  END {
    printf "\nmedians over %d round(s):\n", rounds
    printf "%-9s %12s %12s %12s\n", "route", "req/s", "user us/req", "sys us/req"
    split("healthz public session api_key", names, " ")
    for (i = 1; i <= 4; i++) {
      r = names[i]
      printf "%-9s %12.0f %12.2f %12.2f\n", r, median(rps[r]), median(user[r]), median(sys[r])
    }
    printf "\nratios (goal >= 0.90):\n"
    split("session api_key", auths, " "); split("healthz public", bases, " ")
    for (a = 1; a <= 2; a++) for (b = 1; b <= 2; b++) {
      paired = ""
      for (k = 1; k <= rounds; k++) paired = paired " " at[k, auths[a]] / at[k, bases[b]]
      printf "%-8s / %-8s median req/s %.3f   per-round %.3f   extra user CPU %+.2f us/req\n",
        auths[a], bases[b], median(rps[auths[a]]) / median(rps[bases[b]]), median(paired),
        median(user[auths[a]]) - median(user[bases[b]])
    }
  }' "$results"
