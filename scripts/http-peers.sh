#!/usr/bin/env bash
# The cost of a guarded request, against the peers: benches/http-peers serves the same
# trivial GET /hello bare, behind the least a hand-written session guard does (floor: the
# cookie, its SHA-256, one cache lookup), behind axum-login + tower-sessions (memory and
# SQLite stores), and behind this library (session cookie, bearer token, API key with a
# scope; memory and SQLite stores; the state's layer with an extractor or a guard, and
# `state.guard(rule)`, one layer: the *-guard variants; MaybeUser on a public route). Each
# variant runs in its own process on ONE tokio worker pinned to SERVER_CPU, wrk pinned to
# CLIENT_CPU; before it is measured, each guarded variant is checked to answer 401 without
# its credential and 200 with it.
#
# ROUNDS rounds go through every variant in turn (interleaved, so a disturbance hits all of
# them alike; each round starts one variant later, so none always runs first or last);
# each run has a warm-up. Prints the medians: req/s, p50 and p99 latency, the ratio to
# bare and to axum-login (memory), the time added per request, the median of the
# per-round ratios (each round's run over the bare / axum-login run of that round), and the
# server's CPU time per request (user + system, from /proc) with the ratios it implies
# (bare's CPU per request over the variant's: what a CPU-bound server would serve).
#
# Settings (environment): DURATION (8s), WARMUP (2s), CONNECTIONS (64), ROUNDS (5),
# SERVER_CPU (0), CLIENT_CPU (1), VARIANTS (all), PROFILE (release; CI's smoke run uses
# debug, which reuses the test build: its numbers mean nothing). CI runs it short:
# PROFILE=debug ROUNDS=1 DURATION=1s WARMUP=0 scripts/http-peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
VARIANTS=${VARIANTS:-"bare floor axum-login-memory axum-login-sqlite lib-cookie-memory lib-cookie-guard lib-bearer-memory lib-key-memory lib-key-guard lib-cookie-sqlite lib-key-sqlite lib-maybe-public"}
export RUST_LOG=${RUST_LOG:-warn}

for tool in wrk taskset curl awk; do
  command -v "$tool" >/dev/null || { echo "http-peers: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
done

PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build -q --release -p http-peers
else
  cargo build -q -p http-peers
fi
bin="${CARGO_TARGET_DIR:-$PWD/target}/$PROFILE/http-peers"
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() { # start <variant>: sets $server, $addr and $hdr
  : >"$work/out"
  taskset -c "$SERVER_CPU" "$bin" "$1" 127.0.0.1:0 >"$work/out" 2>"$work/err" &
  server=$!
  for _ in $(seq 1 200); do
    grep -q '^listening: ' "$work/out" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/err" >&2; echo "http-peers: $1 did not start" >&2; exit 1; }
    sleep 0.05
  done
  addr=$(sed -n 's/^listening: //p' "$work/out")
  hdr=$(sed -n 's/^header: //p' "$work/out")
  [ -n "$addr" ] || { echo "http-peers: $1 did not start" >&2; exit 1; }
}

server_ticks() { # user + system CPU time of the server process, in ticks
  awk '{ print $14 + $15 }' "/proc/$server/stat"
}
hz=$(getconf CLK_TCK)

stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

check() { # check <variant>: 401 without the credential (guarded variants), 200 with it
  local without with
  without=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/hello")
  if [ -n "$hdr" ]; then
    [ "$without" = 401 ] || { echo "http-peers: $1 answered $without without its credential" >&2; exit 1; }
    with=$(curl -s -o /dev/null -w '%{http_code}' -H "$hdr" "http://$addr/hello")
    [ "$with" = 200 ] || { echo "http-peers: $1 answered $with with its credential" >&2; exit 1; }
  else
    [ "$without" = 200 ] || { echo "http-peers: $1 answered $without" >&2; exit 1; }
  fi
}

run_wrk() { # run_wrk <duration>: wrk's output
  local args=(-t1 -c"$CONNECTIONS" -d"$1" --latency)
  [ -n "$hdr" ] && args+=(-H "$hdr")
  taskset -c "$CLIENT_CPU" wrk "${args[@]}" "http://$addr/hello"
}

to_us() { # a wrk latency (850.00us, 1.20ms, 2.00s) in microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
  }'
}

: >"$work/results"
# Each round starts one variant further along the list, so no variant always runs in the
# same place of a round (first after a pause, or last).
read -ra variant_list <<<"$VARIANTS"
for round in $(seq 1 "$ROUNDS"); do
  for ((k = 0; k < ${#variant_list[@]}; k++)); do
    variant=${variant_list[$(((k + round - 1) % ${#variant_list[@]}))]}
    start "$variant"
    check "$variant"
    [ "$WARMUP" = 0 ] || run_wrk "$WARMUP" >/dev/null
    ticks0=$(server_ticks)
    out=$(run_wrk "$DURATION")
    ticks1=$(server_ticks)
    stop
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    # The server's CPU time (user + system, all threads) per request: a neighbour on the
    # core lowers requests/s but hardly this.
    cpu=$(awk -v t="$((ticks1 - ticks0))" -v n="$requests" -v hz="$hz" 'BEGIN { printf "%.3f", 1e6 * t / hz / n }')
    errors=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    [ -z "$errors" ] || { echo "http-peers: $variant had $errors non-2xx responses" >&2; exit 1; }
    printf 'round %s %-20s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  cpu %6.2f us/req\n' "$round" "$variant" "$rps" "$p50" "$p99" "$cpu"
    echo "$variant $rps $p50 $p99 $round $cpu" >>"$work/results"
  done
done

echo
echo "medians of $ROUNDS round(s), $DURATION each, $CONNECTIONS connections; server on CPU $SERVER_CPU (1 worker), wrk on CPU $CLIENT_CPU"
awk -v variants="$VARIANTS" -v rounds="$ROUNDS" '
  function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1] = rps[$1] " " $2; p50[$1] = p50[$1] " " $3; p99[$1] = p99[$1] " " $4; at[$1, $5] = $2; cpu[$1] = cpu[$1] " " $6 }
  END {
    n = split(variants, names, " ")
    for (i = 1; i <= n; i++) { v = names[i]; r[v] = median(rps[v]) }
    bare = r["bare"]; peer = r["axum-login-memory"]
    # The ratio of each round to the bare run of the same round, then their median: a
    # disturbance that slows a whole round cancels out.
    for (i = 1; i <= n; i++) {
      v = names[i]; per_bare[v] = ""; per_peer[v] = ""
      for (k = 1; k <= rounds; k++) {
        if (at["bare", k] && at[v, k]) per_bare[v] = per_bare[v] " " at[v, k] / at["bare", k]
        if (at["axum-login-memory", k] && at[v, k]) per_peer[v] = per_peer[v] " " at[v, k] / at["axum-login-memory", k]
      }
    }
    cpu_bare = median(cpu["bare"]); cpu_peer = median(cpu["axum-login-memory"])
    printf "| %-20s | %9s | %8s | %8s | %8s | %13s | %11s | %17s | %17s | %10s | %11s | %17s |\n", "variant", "req/s", "p50 us", "p99 us", "vs bare", "vs axum-login", "added us", "vs bare, per round", "vs axum-login, per round", "cpu us/req", "bare by cpu", "axum-login by cpu"
    printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------", "-----------", "----------", "----------", "----------", "---------------", "-------------", "-------------------", "-------------------", "------------", "-------------", "-------------------"
    for (i = 1; i <= n; i++) {
      v = names[i]
      vs_bare = bare ? sprintf("%.3f", r[v] / bare) : "-"
      vs_peer = peer ? sprintf("%.2f", r[v] / peer) : "-"
      added = (bare && r[v]) ? sprintf("%.2f", 1e6 / r[v] - 1e6 / bare) : "-"
      round_bare = per_bare[v] != "" ? sprintf("%.3f", median(per_bare[v])) : "-"
      round_peer = per_peer[v] != "" ? sprintf("%.2f", median(per_peer[v])) : "-"
      c = median(cpu[v])
      by_cpu = c ? sprintf("%.3f", cpu_bare / c) : "-"
      peer_by_cpu = c ? sprintf("%.2f", cpu_peer / c) : "-"
      printf "| %-20s | %9.0f | %8.0f | %8.0f | %8s | %13s | %11s | %17s | %17s | %10.2f | %11s | %17s |\n", v, r[v], median(p50[v]), median(p99[v]), vs_bare, vs_peer, added, round_bare, round_peer, c, by_cpu, peer_by_cpu
    }
  }' "$work/results"
