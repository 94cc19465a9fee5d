#!/usr/bin/env bash
# Installs evcxr_jupyter (the Rust kernel that runs examples/notebooks/02-rust-evcxr.ipynb) unless
# it is already there. `--locked` builds the versions evcxr was released with. Does not register a
# kernelspec: `evcxr_jupyter --install` does (tests/evcxr_notebook.rs does it into a JUPYTER_PATH
# of its own).
#
# Usage: kernel/install-evcxr.sh          installs into ~/.cargo/bin unless evcxr_jupyter is on PATH
#                                         (cargo's release profile: opt-level 3)
#        kernel/install-evcxr.sh ROOT     installs into ROOT/bin unless ROOT/bin/evcxr_jupyter exists
#                                         (the test uses target/evcxr/install: nothing outside target/);
#                                         concurrent calls for one ROOT build it once; opt-level 1
# EVCXR_VERSION pins another version (default 0.22.0, the one the notebook is tested with);
# EVCXR_OPT_LEVEL sets the optimisation level of either build.
#
# Why opt-level 1 for a ROOT (the test's private copy, built on every clean CI machine): it builds
# in about four fifths of the time of opt-level 3 and runs the notebook as fast; at opt-level 0 it
# builds three times faster, but evcxr's own analysis of each cell then adds minutes to every run
# (the measurements are in the message of the commit that chose opt-level 1, 3e21aac).
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
if [ -n "${EVCXR_OPT_LEVEL:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$EVCXR_OPT_LEVEL"
elif [ ${#root_arg[@]} -gt 0 ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
fi
start=$(date +%s)
cargo install evcxr_jupyter --locked --version "$version" "${root_arg[@]}"
echo "evcxr_jupyter $version installed in $(( $(date +%s) - start )) s (opt-level ${CARGO_PROFILE_RELEASE_OPT_LEVEL:-3})"
