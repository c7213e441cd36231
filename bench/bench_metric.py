"""Speed of brainalign.metrics (all layers in one call) against Brain-Score's metric on one layer.

Default problem: Pereira-shaped, 627 stimuli x 4096 features x 13,553 voxels, 30 layers (float32
features with a shared latent signal that peaks in the middle layers). Brain-Score runs in its own
venv (bench/brainscore_reference.py) on ONE layer of the same arrays; only its metric call is
timed. Both sides are pinned to the same number of BLAS threads.

    python bench/bench_metric.py [--n 627 --d 4096 --m 13553 --layers 30] [--threads 2]
        [--bs-python /work/bsenv/bin/python] [--no-ridge] [--no-bs-float64] [--skip-bs]

Brain-Score's LinearRegression computes in the features' dtype, so it gets the float32 features
(what it sees in practice) for the timing, and float64 ones for the exact score comparison.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainalign.metrics import linear_predictivity, ridge_predictivity  # noqa: E402


def make_problem(n, d, m, layers, n_groups=24, seed=0):
    """Float32 features [layers, n, d] and voxels [n, m] sharing a 64-d latent signal."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 64))
    X = np.empty((layers, n, d), dtype=np.float32)
    for layer in range(layers):
        strength = 0.2 + np.sin(np.pi * (layer + 0.5) / layers)  # best in the middle
        mixing = rng.standard_normal((64, d)) / 8
        X[layer] = strength * latent @ mixing + rng.standard_normal((n, d))
    Y = 0.3 * latent @ rng.standard_normal((64, m)) / 8 + rng.standard_normal((n, m))
    groups = rng.permutation(np.arange(n) % n_groups)
    return X, Y, groups


def run_brainscore(bs_python, x, Y, groups, metrics, threads):
    with tempfile.TemporaryDirectory() as folder:
        npz, out = Path(folder) / "problem.npz", Path(folder) / "out.json"
        np.savez(npz, X=x, Y=Y, groups=groups)
        env = {**os.environ, "BS_INSTALL_DEPENDENCIES": "no", "OMP_NUM_THREADS": str(threads)}
        subprocess.run([bs_python, str(REPO / "bench" / "brainscore_reference.py"), str(npz),
                        str(out), "--metrics", *metrics, "--threads", str(threads)],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.loads(out.read_text())["results"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=627)
    parser.add_argument("--d", type=int, default=4096)
    parser.add_argument("--m", type=int, default=13553)
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bs-python", default=os.environ.get("BRAINSCORE_PYTHON",
                                                              "/work/bsenv/bin/python"))
    parser.add_argument("--bs-layer", type=int, help="layer Brain-Score scores (default: middle)")
    parser.add_argument("--no-ridge", action="store_true")
    parser.add_argument("--no-bs-float64", action="store_true")
    parser.add_argument("--skip-bs", action="store_true")
    args = parser.parse_args()
    layer = args.layers // 2 if args.bs_layer is None else args.bs_layer

    X, Y, groups = make_problem(args.n, args.d, args.m, args.layers)
    print(f"problem: {args.layers} layers x {args.n} stimuli x {args.d} features -> {args.m} "
          f"neuroids; {args.threads} BLAS threads each side; Brain-Score scores layer {layer}; "
          f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ours = {}
    with threadpool_limits(args.threads):
        start = time.perf_counter()
        ours["linear_batched"] = linear_predictivity(X, Y)
        ours["linear_batched_seconds"] = time.perf_counter() - start
        if not args.no_ridge:
            start = time.perf_counter()
            ours["ridge"] = ridge_predictivity(X, Y, groups=groups)
            ours["ridge_seconds"] = time.perf_counter() - start

    metrics = ["linear_batched"] + ([] if args.no_ridge else ["ridge"])
    for metric in metrics:
        seconds = ours[f"{metric}_seconds"]
        scores = ours[metric]
        print(f"\n[{metric}] ours: {seconds:.1f} s for {args.layers} layers = "
              f"{seconds / args.layers:.2f} s per layer; raw by layer: "
              + " ".join(f"{s.raw:.3f}" for s in scores))
    print(f"load average now: {os.getloadavg()[0]:.1f}")
    if args.skip_bs:
        return

    runs = [("float32", X[layer])] + ([] if args.no_bs_float64 else [("float64", X[layer].astype(np.float64))])
    for dtype, x in runs:
        reference = run_brainscore(args.bs_python, x, Y, groups, metrics, args.threads)
        for metric in metrics:
            ref = reference[metric][0]
            score = ours[metric][layer]
            per_layer = ours[f"{metric}_seconds"] / args.layers
            r_ref = np.array(ref["per_split_neuroid"], dtype=float)
            print(f"[{metric}] Brain-Score on layer {layer} ({dtype} features): {ref['seconds']:.1f} s"
                  f" -> ours is {ref['seconds'] / per_layer:.0f}x faster per layer; raw "
                  f"{ref['raw']:.6f} vs ours {score.raw:.6f} (diff {abs(ref['raw'] - score.raw):.2e}, "
                  f"max per-neuroid r diff {np.nanmax(np.abs(r_ref - score.per_split_neuroid)):.2e})")


if __name__ == "__main__":
    main()
