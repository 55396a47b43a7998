#!/usr/bin/env bash
# Coverage-guided fuzzing of the library's parsers and JSON API (cargo-fuzz, libFuzzer):
# builds every target of fuzz/ with the nightly toolchain, then runs each for a bounded
# time, starting from its committed seed corpus (fuzz/corpus/<target>) and the inputs
# earlier runs found (fuzz/target/corpus/<target>, not committed). Fails if any target
# finds a crash, a broken invariant, a timeout or an out-of-memory, and prints where the
# input that did it was written.
#
#   FUZZ_SECONDS   seconds per target (default 60). The long run: FUZZ_SECONDS=3600.
#   FUZZ_TARGETS   targets to run, space separated (default: every target).
#   FUZZ_SANITIZER address (default) or none (faster builds and runs, panics only).
#   FUZZ_PROFILE   release (default: optimised, with debug assertions and overflow checks)
#                  or dev (unoptimised: builds in less than half the time, runs slower;
#                  for the CI smoke).
#   FUZZ_TARGET_DIR where the fuzz builds and working corpora go (default fuzz/target).
#
# Reproduce a finding: cargo +nightly fuzz run <target> <input file> (in fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-address}
case ${FUZZ_PROFILE:-release} in
  release) profile=(-O -a) ;;
  dev) profile=(-D) ;;
  *) echo "fuzz.sh: FUZZ_PROFILE is release or dev" >&2; exit 1 ;;
esac
# The fuzz builds (nightly, sanitizers) never share the workspace's target directory.
unset CARGO_TARGET_DIR
target_dir=${FUZZ_TARGET_DIR:-$root/fuzz/target}

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
flags=("${profile[@]}" -s "$sanitizer" --target-dir "$target_dir")
read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo +nightly fuzz list | tr '\n' ' ')}"

echo "fuzz.sh: building the targets (sanitizer: $sanitizer), then running ${#targets[@]}"
build_start=$SECONDS
cargo +nightly fuzz build "${flags[@]}"
echo "fuzz.sh: built in $((SECONDS - build_start)) s"

failed=()
summary=()
for target in "${targets[@]}"; do
  work="$target_dir/corpus/$target"
  artifacts="$root/fuzz/artifacts/$target"
  log="$target_dir/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  marker=$(mktemp)
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [[ -f "dicts/$target.dict" ]]; then
    options+=(-dict="dicts/$target.dict")
  fi
  echo "fuzz.sh: $target for ${seconds} s"
  status=0
  # New inputs go to the first corpus directory only: the seeds stay as committed.
  cargo +nightly fuzz run "${flags[@]}" "$target" "$work" "corpus/$target" -- \
    "${options[@]}" >"$log" 2>&1 || status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  summary+=("$target: ${runs:-?} executions (limit ${seconds} s), working corpus $corpus inputs")
  found=$(find "$artifacts" -type f -newer "$marker")
  rm -f "$marker"
  if [[ $status -ne 0 || -n $found ]]; then
    failed+=("$target")
    echo "fuzz.sh: $target FAILED (exit $status); what it found (full log: $log):" >&2
    grep -m1 -A12 -E 'panicked at|ERROR: libFuzzer|==[0-9]+==ERROR' "$log" >&2 ||
      tail -20 "$log" >&2
    for input in $found; do
      echo "fuzz.sh: $target: the failing input is $input" >&2
      echo "  reproduce: (cd fuzz && cargo +nightly fuzz run ${flags[*]} $target $input)" >&2
    done
  fi
done

echo "fuzz.sh: summary"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
