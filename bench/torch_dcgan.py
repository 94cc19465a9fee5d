#!/usr/bin/env python3
"""DCGAN at CIFAR-10 size in PyTorch (CPU), for a side-by-side speed comparison with
`gan bench --dcgan` (src/cli/bench_dcgan.rs).

One iteration, batch 64, written as a PyTorch user who cares about speed would write it:

  D: conv 3->64 (4x4, stride 2, padding 1) -> LeakyReLU 0.2 -> conv 64->128 -> BatchNorm2d -> LeakyReLU
     -> conv 128->256 -> BatchNorm2d -> LeakyReLU -> flatten -> Linear 4096->1
  G: Linear 100->4096 -> view 256x4x4 -> BatchNorm2d -> ReLU -> ConvTranspose 256->128 (4x4, s2, p1)
     -> BatchNorm2d -> ReLU -> ConvTranspose 128->64 -> BatchNorm2d -> ReLU -> ConvTranspose 64->3 -> tanh
  convolutions without bias (DCGAN's); BCE with logits, non-saturating G loss; Adam 2e-4, betas (0.5, 0.999)
  D step: z ~ N(0,1)^100, fake = G(z) under no_grad; D on the real batch and on fake (two calls, so batch
     norm takes each half's statistics, as `gan` does); D's gradients; D's Adam step
  G step: fresh z; D(G(z)); gradients for G's parameters only (backward(inputs=...): no D weight
     gradients); G's Adam step
  real batches: random images in [-1, 1] (the time does not depend on the values)

--channels-last stores the images and the conv weights in channels_last (NHWC) memory format, which
oneDNN prefers on some CPUs; bench/run times both and takes the better. --adam picks the optimizer
implementation (fused, PyTorch's fastest on CPU, is the default).

Prints one JSON line: iterations/s over the timed iterations (after warm-up), the fastest
iteration, CPU seconds per iteration and the settings.
"""
import argparse
import json
import os
import time

import torch
from torch import nn
import torch.nn.functional as F


def build():
    d = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(256 * 4 * 4, 1),
    )
    g = nn.Sequential(
        nn.Linear(100, 256 * 4 * 4), nn.Unflatten(1, (256, 4, 4)), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )
    return g.train(), d.train()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--adam", choices=["fused", "foreach"], default="fused")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g, d = build()
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    g, d = g.to(memory_format=fmt), d.to(memory_format=fmt)
    adam = {"fused": True} if a.adam == "fused" else {"foreach": True}
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    g_params = list(g.parameters())
    b = 64
    pool = (torch.rand(16 * b, 3, 32, 32) * 2 - 1).contiguous(memory_format=fmt)
    ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)

    def step(i):
        real = pool[(i % 16) * b:(i % 16 + 1) * b]
        # D step
        with torch.no_grad():
            fake = g(torch.randn(b, 100))
        opt_d.zero_grad(set_to_none=True)
        d_loss = (F.binary_cross_entropy_with_logits(d(real), ones)
                  + F.binary_cross_entropy_with_logits(d(fake), zeros))
        d_loss.backward()
        opt_d.step()
        # G step on fresh noise, gradients for G only
        opt_g.zero_grad(set_to_none=True)
        g_loss = F.binary_cross_entropy_with_logits(d(g(torch.randn(b, 100))), ones)
        g_loss.backward(inputs=g_params)
        opt_g.step()

    for i in range(a.warmup):
        step(i)
    times = []
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(a.iters):
        t = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    r = {"engine": "torch", "bench": "dcgan", "torch": torch.__version__, "threads": a.threads,
         "channels_last": a.channels_last, "adam": a.adam, "batch": b, "warmup": a.warmup,
         "iters": a.iters, "it_per_s": a.iters / wall, "best_step_it_per_s": 1 / min(times),
         "cpu_secs_per_iter": cpu / a.iters,
         "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}
    print(json.dumps(r))


if __name__ == "__main__":
    main()
