#!/usr/bin/env bash
# Makes the Python environment for bench/torch_gan.py: a venv with PyTorch (CPU use only).
#
#   bench/setup_torch.sh            # venv in bench/.venv (or $GAN_TORCH_VENV)
#
# PyPI's Linux torch wheel pulls the CUDA libraries as dependencies (≈5 GB): torch does not
# import without them, so `--no-deps` is not an option. The benchmark never touches a GPU.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${GAN_TORCH_VENV:-$here/.venv}"
py="${PYTHON:-python3}"
torch_spec="${TORCH_SPEC:-torch==2.15.0}"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$torch_spec"
"$venv/bin/python" - <<'PY'
import torch
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, "
      f"parallel info:\n{torch.__config__.parallel_info()}")
PY
