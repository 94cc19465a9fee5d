"""The DCGAN part of bench/run: `gan bench --dcgan` against bench/torch_dcgan.py.

For each thread count, alternates fresh processes of our engine, of PyTorch with contiguous
(NCHW) tensors and of PyTorch with channels_last ones (RAYON_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS set to the thread count) and of PyTorch channels_last with
OMP_WAIT_POLICY=PASSIVE (OpenMP's default spinning collapses when other processes share the
cores), `reps` times each, and returns per thread count the
medians of it/s and of CPU seconds per iteration. The ratio is ours ÷ the better PyTorch variant
(above 1: gan is faster).
"""
import os
import statistics
import sys

VARIANTS = ("gan", "torch", "torch-channels-last", "torch-channels-last-passive")
TORCH = VARIANTS[1:]


def compare(run_json, gan, py, here, threads, reps, iters, warmup):
    """Returns ({threads: row}, [raw runs]); run_json(cmd, env) runs one process, returns its JSON."""
    rows, raw = {}, []
    common = ["--warmup", str(warmup), "--iters", str(iters)]
    for t in threads:
        env = dict(os.environ, RAYON_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        env.pop("OMP_WAIT_POLICY", None)
        runs = {v: [] for v in VARIANTS}
        for rep in range(reps):
            order = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
            for which in order:
                if which == "gan":
                    cmd = [gan, "bench", "--dcgan", "--json", "--threads", str(t),
                           "--per-epoch", str(iters)] + common
                else:
                    cmd = [py, os.path.join(here, "torch_dcgan.py"), "--threads", str(t)] + common
                    if which.startswith("torch-channels-last"):
                        cmd.append("--channels-last")
                with open("/proc/loadavg") as f:
                    load = float(f.read().split()[0])
                r = run_json(cmd, dict(env, OMP_WAIT_POLICY="PASSIVE") if which.endswith("passive") else env)
                r.update(which=which, load=load)
                runs[which].append(r)
                raw.append(r)
                print(f"  DCGAN {t} thread(s) rep {rep + 1}: {which:20} {r['it_per_s']:6.2f} it/s, "
                      f"{r.get('cpu_secs_per_iter', float('nan')):.3f} CPU s/it, load {load:.1f}",
                      file=sys.stderr)
        med = {v: statistics.median(r["it_per_s"] for r in runs[v]) for v in VARIANTS}
        cpu = {v: statistics.median(r["cpu_secs_per_iter"] for r in runs[v]) for v in VARIANTS}
        best = max(TORCH, key=lambda v: med[v])
        rows[t] = {"it_per_s": med, "cpu_secs_per_iter": cpu, "best_torch": best,
                   "ratio": med["gan"] / med[best],
                   "cpu_ratio": cpu[best] / cpu["gan"],
                   "load": statistics.median(r["load"] for v in VARIANTS for r in runs[v])}
    return rows, raw


def table(rows, reps, iters):
    """The Markdown lines of the results."""
    out = [f"DCGAN at 3×32×32, batch 64, one D step + one G step (Adam); medians of {reps} runs of "
           f"{iters} iterations",
           "",
           "| threads | gan it/s | PyTorch it/s (NCHW) | PyTorch it/s (channels_last) "
           "| PyTorch it/s (channels_last, OMP passive) | ratio gan ÷ best PyTorch "
           "| CPU s/it gan | CPU s/it best PyTorch | CPU-time ratio | load |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for t, r in rows.items():
        m, c = r["it_per_s"], r["cpu_secs_per_iter"]
        out.append(f"| {t} | {m['gan']:.2f} | {m['torch']:.2f} | {m['torch-channels-last']:.2f} "
                   f"| {m['torch-channels-last-passive']:.2f} "
                   f"| {r['ratio']:.2f}× | {c['gan']:.3f} | {c[r['best_torch']]:.3f} | {r['cpu_ratio']:.2f}× "
                   f"| {r['load']:.1f} |")
    return out
