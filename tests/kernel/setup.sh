#!/usr/bin/env bash
# Makes the Python environment the kernel tests drive the native kernel with: a venv under
# target/ (CARGO_TARGET_DIR respected) holding jupyter_client, nbclient, nbformat,
# jupyter_kernel_test and ipykernel. Does nothing when it is already there.
# Prints the venv's python on the last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${GAN_KERNEL_VENV:-$target/kernel-venv}"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c "import jupyter_client, nbclient, nbformat, jupyter_kernel_test" 2>/dev/null; then
  echo "$py"
  exit 0
fi
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "setup.sh: $python not found" >&2; exit 1; }
"$python" -m venv "$venv" >&2
"$py" -m pip install --quiet --disable-pip-version-check \
  jupyter_client nbclient nbformat jupyter_kernel_test ipykernel >&2
"$py" -c "import jupyter_client, nbclient, nbformat, jupyter_kernel_test" >&2
echo "$py"
