#!/usr/bin/env bash
# Fuzzes every parser that sees untrusted bytes: bearer tokens, identity-context headers, request
# paths, configuration files, upstream HTTP/1.1 responses and client HTTP/1.1 request heads.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Installs cargo-fuzz when missing. cargo-fuzz asks for nightly-only compiler flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 allows them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(token context_headers path config upstream_response request_head)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  echo "== fuzzing $target for ${seconds}s"
  cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096
done
