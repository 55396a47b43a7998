#!/usr/bin/env bash
# Runs every test of the workspace. Installs what a fresh machine lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

cargo test --workspace "$@"
