#!/usr/bin/env python3
"""The paper's MNIST GAN iteration in PyTorch (CPU), for a side-by-side speed comparison with `gan bench`.

One iteration is exactly what `gan`'s simultaneous step (the paper code's pylearn2 AdversaryCost2 +
SGD) does, written the way a PyTorch user would write it efficiently:

  z ~ U(-sqrt 3, sqrt 3)^100, fake = G(z)                       (G: 100-1200-1200-784, ReLU, sigmoid)
  D on the real batch and on G(z), one dropout mask each         (D: dropout .8, maxout 240x5, dropout .5,
                                                                    maxout 240x5, dropout .5, dense 1)
  d_loss = 0.5 (BCE(D(x), 1) + BCE(D(G(z)), 0)),  g_loss = BCE(D(G(z)), 1)   (non-saturating)
  D's gradient from d_loss, G's from g_loss, both through that same pass (autograd.grad computes only
  what each needs: no D weight gradients for g_loss, no input gradients for d_loss)
  both SGD updates with pylearn2's momentum rule  v <- mu v - lr g;  theta <- theta + v,
  lr = 0.1 / 1.000004^t, momentum 0.5 (epoch 1 of the 0.5 -> 0.7 ramp)
  batch 100 rows of MNIST (or of uniform noise without --data-dir), a fresh shuffled order each epoch

Prints one JSON line: iterations/s over the timed iterations (after warm-up), samples/s of G at
batch 1,000 in evaluation mode, and the settings. Threads: --threads (torch.set_num_threads); the
caller also sets OMP_NUM_THREADS/MKL_NUM_THREADS so the OpenMP pool matches.
"""
import argparse
import gzip
import json
import math
import os
import struct
import time

import torch
import torch.nn.functional as F


def load_mnist(data_dir):
    """MNIST train[0:50000] as a (50000, 784) float32 tensor in [0, 1], or None when absent."""
    if not data_dir:
        return None
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                raw = f.read()
            magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
            assert magic == 2051, "not an idx3 image file"
            x = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).view(n, rows * cols)
            return x[:50000].float().div_(255.0)
    return None


class Maxout(torch.nn.Module):
    """Affine map to units*pieces, then the max over each unit's contiguous pieces (pylearn2)."""

    def __init__(self, inp, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = torch.nn.Linear(inp, units * pieces)

    def forward(self, x):
        return self.lin(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


def build(marginals):
    g = torch.nn.Sequential(
        torch.nn.Linear(100, 1200), torch.nn.ReLU(),
        torch.nn.Linear(1200, 1200), torch.nn.ReLU(),
        torch.nn.Linear(1200, 784), torch.nn.Sigmoid(),
    )
    d = torch.nn.Sequential(
        torch.nn.Dropout(0.2), Maxout(784, 240, 5),
        torch.nn.Dropout(0.5), Maxout(240, 240, 5),
        torch.nn.Dropout(0.5), torch.nn.Linear(240, 1),
    )
    with torch.no_grad():
        for net, r in ((g, 0.05), (d, 0.005)):
            for p in net.parameters():
                if p.dim() == 2:
                    p.uniform_(-r, r)
                else:
                    p.zero_()
        if marginals is not None:  # init_sigmoid_bias_from_marginals
            m = marginals.clamp(1e-3, 1 - 1e-3)
            g[4].bias.copy_(torch.log(m / (1 - m)))
    return g, d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--sample-reps", type=int, default=20)
    ap.add_argument("--data-dir", default=os.environ.get("GAN_DATA_DIR", ""))
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    batch = 100
    data = load_mnist(a.data_dir)
    source = "mnist"
    if data is None:
        data, source = torch.rand(50000, 784), "uniform noise"
    g, d = build(data.mean(0))
    gp, dp = list(g.parameters()), list(d.parameters())
    gv = [torch.zeros_like(p) for p in gp]
    dv = [torch.zeros_like(p) for p in dp]
    half = math.sqrt(3.0)
    rows = data.shape[0]
    per_epoch = rows // batch
    state = {"t": 0, "order": None}

    def iteration():
        t = state["t"]
        i = t % per_epoch
        if i == 0:
            state["order"] = torch.randperm(rows)
        real = data.index_select(0, state["order"][i * batch:(i + 1) * batch])
        z = torch.empty(batch, 100).uniform_(-half, half)
        fake = g(z)
        lr_ = d(real)
        lf = d(fake)
        d_loss = 0.5 * (F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_))
                        + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)))
        g_loss = F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))
        d_grads = torch.autograd.grad(d_loss, dp, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, gp)
        lr = max(0.1 / 1.000004 ** t, 1e-6)
        mu = 0.5
        with torch.no_grad():
            for ps, vs, gs in ((dp, dv, d_grads), (gp, gv, g_grads)):
                torch._foreach_mul_(vs, mu)
                torch._foreach_add_(vs, gs, alpha=-lr)
                torch._foreach_add_(ps, vs)
        state["t"] = t + 1
        return d_loss, g_loss

    g.train()
    d.train()
    for _ in range(a.warmup):
        iteration()
    t0, c0 = time.perf_counter(), time.process_time()
    fastest = math.inf
    for _ in range(a.iters):
        s0 = time.perf_counter()
        dl, gl = iteration()
        fastest = min(fastest, time.perf_counter() - s0)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    assert math.isfinite(float(dl)) and math.isfinite(float(gl))

    g.eval()
    with torch.inference_mode():
        z = torch.empty(1000, 100).uniform_(-half, half)
        for _ in range(3):
            g(z)
        s0 = time.perf_counter()
        for _ in range(a.sample_reps):
            g(z)
        ssecs = time.perf_counter() - s0

    print(json.dumps({
        "engine": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        # the SIMD level PyTorch's own kernels dispatched to (MKL/oneDNN pick theirs likewise)
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "data": source,
        "warmup": a.warmup,
        "iters": a.iters,
        "it_per_s": a.iters / secs,
        # CPU time of all threads per iteration, and 1 / the fastest iteration, as gan bench reports
        "cpu_secs_per_iter": cpu / a.iters,
        "best_step_it_per_s": 1.0 / fastest,
        "samples_per_s": 1000 * a.sample_reps / ssecs,
    }))


if __name__ == "__main__":
    main()
