"""Speed of brainalign.metrics (all layers in one call) against Brain-Score's metric on one layer.

Default problem: Pereira-shaped, 627 stimuli x 4096 features x 13,553 voxels, 30 layers (float32
features with a shared latent signal that peaks in the middle layers). Brain-Score runs in its own
venv (bench/brainscore_reference.py) on ONE layer of the same arrays; only its metric call is
timed. Both sides are pinned to the same number of BLAS threads.

    BRAINSCORE_PYTHON=<Brain-Score venv python> python bench/bench_metric.py [--threads 2]
        [--n 627 --d 4096 --m 13553 --layers 30] [--metrics linear_batched ridge]
        [--backend numpy|torch --device cuda] [--bs-float64] [--skip-bs]

Prints, per metric, `<metric>: <ours> s vs <theirs> s -> <N>x faster per layer` with the load
average seen around each side (ours runs first, then Brain-Score, back to back).

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


def load():
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def time_ours(metric, X, Y, groups, threads, backend, device):
    with threadpool_limits(threads):
        start = time.perf_counter()
        if metric == "ridge":
            scores = ridge_predictivity(X, Y, groups=groups, backend=backend, device=device)
        else:
            scores = linear_predictivity(X, Y, correlation=metric.split("_")[1], backend=backend,
                                         device=device)
        return scores, time.perf_counter() - start


def prediction_floor(n_layers, Y, groups, metric, threads):
    """Seconds per layer of the one product no method skips: each split's held-out predictions,
    [layers * n_test, n_train] @ [n_train, neuroids] in float64 (the metric's own splits)."""
    from brainalign.metrics.splits import group_splits, shuffle_splits

    splits = group_splits(groups, 10, 1234) if metric == "ridge" else shuffle_splits(len(Y), 10, 0.9, 1)
    rng = np.random.default_rng(0)
    seconds = 0.0
    with threadpool_limits(threads):
        for train, test in splits:
            S, y = rng.standard_normal((n_layers * len(test), len(train))), Y[train]
            start = time.perf_counter()
            S @ y
            seconds += time.perf_counter() - start
    return seconds / n_layers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=627)
    parser.add_argument("--d", type=int, default=4096)
    parser.add_argument("--m", type=int, default=13553)
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bs-python", default=os.environ.get("BRAINSCORE_PYTHON"))
    parser.add_argument("--bs-layer", type=int, help="layer Brain-Score scores (default: middle)")
    parser.add_argument("--metrics", nargs="+", default=["linear_batched", "ridge"],
                        choices=["linear_batched", "linear_scipy", "ridge"])
    parser.add_argument("--backend", default="numpy", choices=["auto", "numpy", "torch"])
    parser.add_argument("--device", default=None)
    parser.add_argument("--bs-float64", action="store_true",
                        help="also give Brain-Score float64 features (slower for it; exact comparison)")
    parser.add_argument("--skip-bs", action="store_true")
    args = parser.parse_args()
    layer = args.layers // 2 if args.bs_layer is None else args.bs_layer
    if not args.skip_bs and not (args.bs_python and Path(args.bs_python).exists()):
        raise SystemExit("set BRAINSCORE_PYTHON (or --bs-python) to the Brain-Score venv's python, "
                         "or pass --skip-bs")

    X, Y, groups = make_problem(args.n, args.d, args.m, args.layers)
    print(f"problem: {args.layers} layers x {args.n} stimuli x {args.d} features -> {args.m} "
          f"neuroids; {args.threads} BLAS threads each side; backend {args.backend}; Brain-Score "
          f"scores layer {layer}")
    dtypes = [("float32", X[layer])] + ([("float64", X[layer].astype(np.float64))]
                                        if args.bs_float64 else [])
    for metric in args.metrics:  # ours, then Brain-Score, back to back
        before = load()
        scores, seconds = time_ours(metric, X, Y, groups, args.threads, args.backend, args.device)
        per_layer = seconds / args.layers
        print(f"\n[{metric}] ours: {seconds:.1f} s for {args.layers} layers = {per_layer:.3f} s per "
              f"layer ({before} before, {load()} after); raw by layer: "
              + " ".join(f"{s.raw:.3f}" for s in scores), flush=True)
        floor = prediction_floor(args.layers, Y, groups, metric, args.threads)
        print(f"[{metric}] floor: the held-out prediction product alone takes {floor:.3f} s per layer here",
              flush=True)
        if args.skip_bs:
            continue
        for dtype, x in dtypes:
            before = load()
            ref = run_brainscore(args.bs_python, x, Y, groups, [metric], args.threads)[metric][0]
            score = scores[layer]
            r_ref = np.array(ref["per_split_neuroid"], dtype=float)
            print(f"{metric} ({dtype} features to Brain-Score): {per_layer:.3f} s vs "
                  f"{ref['seconds']:.1f} s -> {ref['seconds'] / per_layer:.0f}x faster per layer "
                  f"[Brain-Score: {before} before, {load()} after; raw {ref['raw']:.6f} vs ours "
                  f"{score.raw:.6f}, max per-neuroid r diff "
                  f"{np.nanmax(np.abs(r_ref - score.per_split_neuroid)):.2e}]", flush=True)
            print(f"{metric}: Brain-Score / floor = {ref['seconds'] / floor:.0f}x, the most any float64 method "
                  f"could reach on this machine", flush=True)


if __name__ == "__main__":
    main()
