# Sourced by the interop scripts: `check <description> <command...>` runs the command,
# prints "ok   <description>" or "FAIL <description>" and counts it in $passed / $failed.
passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what" >&2
  fi
}
