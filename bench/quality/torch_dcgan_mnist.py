#!/usr/bin/env python3
"""Independent truth for an early `scripts/dcgan_mnist.rhai` (two D convolutions, Adam 2e-4 for
both, the non-saturating game; the fd stall at ~30 in docs/recipe-notes.md): the same DCGAN
trained in PyTorch (CPU), its samples written for `gan eval classifier --samples-file`, so both
engines are scored by the same classifier.

The same model as that recipe (width w, default 32):
  G: z ~ N(0, 1)^100 -> Linear 2w*7*7 -> view [2w, 7, 7] -> BatchNorm2d -> ReLU
     -> ConvTranspose2d w (4x4, s2, p1, no bias) -> BatchNorm2d -> ReLU
     -> ConvTranspose2d 1 (4x4, s2, p1) -> tanh
  D: [1, 28, 28] -> Conv2d w (4x4, s2, p1) -> LeakyReLU 0.2
     -> Conv2d 2w (4x4, s2, p1, no bias) -> BatchNorm2d -> LeakyReLU 0.2 -> Linear 1
with the engine's inits: conv / conv-transpose weights N(0, 0.02^2), batch norm gamma N(1, 0.02^2),
beta 0, biases 0, dense weights uniform on +-0.05 in G and +-0.005 in D (the role defaults);
batch norm momentum 0.1, eps 1e-5. Adam lr 2e-4, betas (0.5, 0.999), eps 1e-8, for both.
Data: MNIST train[0:50000] as x / 255 * 2 - 1, reshuffled every epoch, batch 64, the last
partial batch dropped (781 steps an epoch).
One iteration, as the engine's alternating scheme with k = 1 does it:
  D step: z; fake = G(z) with G in training mode (its running statistics move); D on the real
     batch and on fake as two calls (each normalised with its own batch statistics);
     loss (BCE(real, 1) + BCE(fake, 0)) / 2, as the engine scales it; D's Adam step.
  G step: fresh z; D(G(z)) in training mode; non-saturating loss BCE(D(G(z)), 1); G's Adam step.

At each --eval-every iterations (and at the end) it writes `samples_<iter>_eval.safetensors`
(G in eval mode: batch norm's running statistics, as `gan` samples) and
`samples_<iter>_train.safetensors` (training mode: each chunk of --train-batch samples
normalised with its own statistics, as DCGAN code usually samples; running statistics
restored afterwards), each one F32 tensor `samples` of shape [n, 784] in [-1, 1]. Score them:

  gan eval classifier --samples-file OUT/samples_3905_eval.safetensors --range symmetric

Usage: torch_dcgan_mnist.py --data ../shared/data/mnist --iters 3905 --out /tmp/torch_dcgan
"""
import argparse
import ctypes
import gzip
import json
import os
import struct
import time

import torch
from torch import nn
import torch.nn.functional as F


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise SystemExit(f"{path}: not an IDX image file (magic {magic})")
    x = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8)
    return x.view(n, 1, h, w)


def build(w):
    g = nn.Sequential(
        nn.Linear(100, 2 * w * 7 * 7), nn.Unflatten(1, (2 * w, 7, 7)), nn.BatchNorm2d(2 * w), nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
        nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1),
    )
    with torch.no_grad():
        for net, irange in ((g, 0.05), (d, 0.005)):
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    m.weight.normal_(0.0, 0.02)
                elif isinstance(m, nn.Linear):
                    m.weight.uniform_(-irange, irange)
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.normal_(1.0, 0.02)
                    m.bias.zero_()
                if getattr(m, "bias", None) is not None and not isinstance(m, nn.BatchNorm2d):
                    m.bias.zero_()
    return g, d


def write_samples(path, x):
    """A safetensors file by hand (the venv has neither numpy nor safetensors): 8-byte header
    length, JSON header, little-endian F32 data."""
    x = x.detach().reshape(x.shape[0], -1).contiguous().float()
    nbytes = x.numel() * 4
    header = json.dumps({"samples": {"dtype": "F32", "shape": list(x.shape), "data_offsets": [0, nbytes]}})
    header += " " * (-len(header) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header.encode())
        f.write(ctypes.string_at(x.data_ptr(), nbytes))
    os.replace(tmp, path)


def sample(g, n, train_mode, chunk, gen):
    saved = {k: v.clone() for k, v in g.state_dict().items()}
    g.train(train_mode)
    out = []
    with torch.no_grad():
        left = n
        while left > 0:
            k = min(chunk, left)
            out.append(g(torch.randn(k, 100, generator=gen)))
            left -= k
    g.load_state_dict(saved)
    g.train()
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/mnist")
    ap.add_argument("--iters", type=int, default=3905)
    ap.add_argument("--eval-every", type=int, default=0, help="also write samples every N iterations")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--train-batch", type=int, default=64, help="chunk size of training-mode sampling")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)

    x = read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte.gz"))[:50000]
    data = x.float() / 255.0 * 2.0 - 1.0
    g, d = build(a.width)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = F.binary_cross_entropy_with_logits
    batch, per_epoch = 64, data.shape[0] // 64
    gen_eval = torch.Generator().manual_seed(a.seed + 1)
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    started = time.time()
    order = None
    for it in range(1, a.iters + 1):
        step = (it - 1) % per_epoch
        if step == 0:
            order = torch.randperm(data.shape[0])
        real = data[order[step * batch:(step + 1) * batch]]
        ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

        fake = g(torch.randn(batch, 100)).detach()
        lr_, lf = d(real), d(fake)
        d_loss = (bce(lr_, ones) + bce(lf, zeros)) / 2
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        lg = d(g(torch.randn(batch, 100)))
        g_loss = bce(lg, ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

        if it % per_epoch == 0 or it == a.iters:
            rec = {"iter": it, "d_loss": d_loss.item(), "g_loss": g_loss.item(),
                   "d_real": torch.sigmoid(lr_).mean().item(), "d_fake": torch.sigmoid(lf).mean().item(),
                   "secs": time.time() - started}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if it == a.iters or (a.eval_every and it % a.eval_every == 0):
            for mode in ("eval", "train"):
                s = sample(g, a.samples, mode == "train", a.train_batch if mode == "train" else 1000, gen_eval)
                write_samples(os.path.join(a.out, f"samples_{it}_{mode}.safetensors"), s)


if __name__ == "__main__":
    main()
