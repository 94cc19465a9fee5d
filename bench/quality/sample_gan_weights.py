#!/usr/bin/env python3
"""Samples of a *gan-trained* dcgan_mnist generator drawn by PyTorch, in both batch-norm modes, for
`gan eval classifier --samples-file`.

Reads a gan weights file (a run's weights.safetensors or a checkpoint's model.safetensors; the
engine stores PyTorch's layouts: dense weights [in, out], conv-transpose weights [in, out, kh, kw],
gamma [1, C]) into torch_dcgan_mnist.py's G and writes
  OUT/<tag>_eval.safetensors   batch norm's running statistics (what `gan` samples with)
  OUT/<tag>_train.safetensors  each chunk of --train-batch samples normalised with its own statistics
                               (training mode, as DCGAN code usually samples)
Two checks in one: the eval-mode file must score as the engine's own samples of the same weights do
(else the layouts or the forward differ), and the train-mode file answers whether sampling with
batch statistics would be better.

Usage: sample_gan_weights.py WEIGHTS.safetensors --out DIR [--tag NAME]
"""
import argparse
import json
import os
import struct

import torch

from torch_dcgan_mnist import build, sample, write_samples


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[base + a:base + b]), dtype=torch.float32).view(t["shape"])
    return out


def load_g(path):
    t = read_safetensors(path)
    w = t["g.0.w"].shape[1] // (2 * 7 * 7)
    g, _ = build(w)
    with torch.no_grad():
        g[0].weight.copy_(t["g.0.w"].T)
        g[0].bias.copy_(t["g.0.b"])
        for i in (2, 5):
            g[i].weight.copy_(t[f"g.{i}.gamma"].flatten())
            g[i].bias.copy_(t[f"g.{i}.beta"])
            g[i].running_mean.copy_(t[f"g.{i}.running_mean"])
            g[i].running_var.copy_(t[f"g.{i}.running_var"])
        g[4].weight.copy_(t["g.4.w"].view(g[4].weight.shape))
        if t["g.4.b"].abs().max() != 0:
            raise SystemExit("g.4.b is not zero: this is not dcgan_mnist's bias-free conv-transpose")
        g[7].weight.copy_(t["g.7.w"].view(g[7].weight.shape))
        g[7].bias.copy_(t["g.7.b"])
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="gan")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    g = load_g(a.weights)
    gen = torch.Generator().manual_seed(a.seed)
    for mode in ("eval", "train"):
        chunk = a.train_batch if mode == "train" else 1000
        s = sample(g, a.samples, mode == "train", chunk, gen)
        write_samples(os.path.join(a.out, f"{a.tag}_{mode}.safetensors"), s)


if __name__ == "__main__":
    main()
