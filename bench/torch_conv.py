#!/usr/bin/env python3
"""PyTorch side of `examples/bench_conv.rs`: forward + backward of DCGAN's discriminator body at
CIFAR-10 size, batch 64 (conv 3->64 4x4 s2 p1, leaky ReLU 0.2, conv 64->128, BatchNorm2d, leaky
ReLU, conv 128->256, BatchNorm2d, leaky ReLU; convolutions without bias; the input needs no
gradient), in training mode, from a fixed output gradient.

    bench/.venv/bin/python bench/torch_conv.py --threads 2 --iters 20

Prints one human line and one JSON line with the median and best time in ms.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    d = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
    ).train()
    x = torch.rand(64, 3, 32, 32) * 2 - 1
    dy = (torch.rand(64, 256, 4, 4) - 0.5) / 50

    def step():
        for p in d.parameters():
            p.grad = None
        d(x).backward(dy)

    for _ in range(3):
        step()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    med, best = statistics.median(times), min(times)
    print(f"PyTorch {torch.__version__}: median {med:.2f} ms, best {best:.2f} ms over {a.iters} iterations, "
          f"{torch.get_num_threads()} thread(s)")
    print(json.dumps({"engine": "torch", "threads": a.threads, "iters": a.iters,
                      "median_ms": med, "best_ms": best}))


if __name__ == "__main__":
    main()
