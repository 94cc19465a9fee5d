#!/usr/bin/env bash
# Installs evcxr_jupyter (the Rust kernel that runs examples/notebooks/02-rust-evcxr.ipynb) unless
# it is already there. Building it takes 5–6 minutes on 2 idle Intel cores (328 s measured), 10.4 on the
# 2-core AMD EPYC VM, far longer on busy ones; `--locked` builds the
# versions evcxr was released with. Does not register a kernelspec: `evcxr_jupyter --install` does
# (tests/evcxr_notebook.rs does it into a JUPYTER_PATH of its own).
#
# Usage: kernel/install-evcxr.sh          installs into ~/.cargo/bin unless evcxr_jupyter is on PATH
#        kernel/install-evcxr.sh ROOT     installs into ROOT/bin unless ROOT/bin/evcxr_jupyter exists
#                                         (the test uses target/evcxr/install: nothing outside target/);
#                                         concurrent calls for one ROOT build it once
# EVCXR_VERSION pins another version (default 0.22.0, the one the notebook is tested with).
set -euo pipefail
version="${EVCXR_VERSION:-0.22.0}"
root_arg=()
if [ $# -ge 1 ]; then
  root="$1"
  # One install per ROOT at a time: a second call (the test, while .ci/run's early background
  # install still builds) waits for the first and then finds the binary, instead of building
  # it again beside it.
  mkdir -p "$root"
  exec 9>"$root/.install.lock"
  flock 9
  if [ -x "$root/bin/evcxr_jupyter" ]; then
    echo "evcxr_jupyter already installed: $root/bin/evcxr_jupyter"
    exit 0
  fi
  root_arg=(--root "$root")
elif command -v evcxr_jupyter >/dev/null 2>&1; then
  echo "evcxr_jupyter already installed: $(command -v evcxr_jupyter)"
  exit 0
fi
start=$(date +%s)
cargo install evcxr_jupyter --locked --version "$version" "${root_arg[@]}"
echo "evcxr_jupyter $version installed in $(( $(date +%s) - start )) s"
