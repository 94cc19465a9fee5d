#!/usr/bin/env bash
# Installs evcxr_jupyter (the Rust kernel that runs examples/notebooks/02-rust-evcxr.ipynb) when it
# is not on PATH, for CI and tests/evcxr_notebook.rs. Building it takes about 11 minutes on 2
# cores; `--locked` builds the versions evcxr was released with. Does not register a kernelspec:
# `evcxr_jupyter --install` does (the test does it into a JUPYTER_PATH of its own).
# Usage: kernel/install-evcxr.sh   (EVCXR_VERSION=0.22.0 to pin a version)
set -euo pipefail
if command -v evcxr_jupyter >/dev/null 2>&1; then
  echo "evcxr_jupyter already installed: $(command -v evcxr_jupyter)"
  exit 0
fi
version_arg=()
if [ -n "${EVCXR_VERSION:-}" ]; then
  version_arg=(--version "$EVCXR_VERSION")
fi
start=$(date +%s)
cargo install evcxr_jupyter --locked "${version_arg[@]}"
echo "evcxr_jupyter installed in $(( $(date +%s) - start )) s: $(command -v evcxr_jupyter || echo "$HOME/.cargo/bin/evcxr_jupyter (add ~/.cargo/bin to PATH)")"
