# Sourced by scripts/e2e.sh, load-test.sh, hash-flood.sh and api-fuzz.sh: runs a fresh
# example server (a temporary SQLite database and key file, a free port on 127.0.0.1) and
# always stops it.
#
#   tmp                 the temporary folder, removed on exit
#   example_server_args extra flags for the server (an array, empty by default; e.g.
#                       (--seed-demo)), set before start_example_server
#   example_server_db   the database (default: sqlite:$tmp/auth.db, fresh on each start)
#   start_example_server <binary> [command prefix...]
#                       starts it (retrying on another port if one was taken meanwhile);
#                       sets server_pid and base (http://127.0.0.1:PORT); fails with the
#                       server's log if it never answers /healthz
#   stop_example_server stops it (also run on exit)
#   build_example_server <debug|release>
#                       builds it; sets example_server_bin to the binary

tmp=$(mktemp -d "${TMPDIR:-/tmp}/auth-example.XXXXXX")
server_pid=""
base=""
example_server_args=()
example_server_db=""

stop_example_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap 'stop_example_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

build_example_server() {
  local profile=$1 target_dir
  if [ "$profile" = release ]; then
    cargo build -q --release -p example-server
  else
    cargo build -q -p example-server
  fi
  target_dir=${CARGO_TARGET_DIR:-target}
  case $target_dir in /*) ;; *) target_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$target_dir" ;; esac
  example_server_bin="$target_dir/$profile/example-server"
}

# A port nothing listens on (bash's /dev/tcp: a refused connection means free).
free_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# One attempt: true once /healthz answers.
try_start() {
  local bin=$1 port
  shift
  port=$(free_port) || return 1
  base="http://127.0.0.1:$port"
  rm -f "$tmp"/auth.db* "$tmp/server.log"
  "$@" "$bin" --addr "127.0.0.1:$port" --database-url "${example_server_db:-sqlite:$tmp/auth.db}" \
    --secret-key-file "$tmp/auth.key" "${example_server_args[@]}" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_example_server
  return 1
}

start_example_server() {
  for _ in 1 2 3; do
    try_start "$@" && return 0
  done
  echo "the example server did not start; its log:" >&2
  cat "$tmp/server.log" >&2 || true
  return 1
}
