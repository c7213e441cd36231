"""Voxelwise ridge (brainalign/metrics/voxelwise.py) vs himalaya on a LeBel-shaped synthetic problem.

    OMP_NUM_THREADS=2 python bench/bench_voxelwise.py [--stories 10 --trs 300 --voxels 2000 --threads 2]

Stories of `trs` TRs, one held out; `features` x 4 delays (primal when that is below the training TRs,
dual above); the penalty per voxel by leaving training stories out (5 folds), 8 penalties. himalaya runs
RidgeCV (primal) or KernelRidgeCV (dual) on the same matrices, splits, penalties and threads. Prints the
wall time of each, their ratio, the largest difference of the held-out predictions, peak memory (Python
allocations, tracemalloc), and an EXTRAPOLATED time for one LeBel subject x every layer of LLaMA-7B
(33 layers, 4,096 x 4 features, 9,000 TRs, 80,000 voxels) on one H100 in float64 (the FLOP count of our
dual solver / 67 TFLOP/s FP64 tensor-core peak x 0.5 efficiency; `--backend torch --device cuda`
measures a GPU where one is present).
"""

import argparse
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from brainalign.metrics.voxelwise import ALPHAS, delayed, fit_voxels, story_folds, zscore


def problem(stories, trs, features, voxels, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(stories)]
    X = {s: delayed(zscore(rng.standard_normal((trs, features))), [1, 2, 3, 4]) for s in names}
    W = rng.standard_normal((4 * features, voxels)) / np.sqrt(4 * features)
    Y = {s: zscore(X[s] @ W + 2 * rng.standard_normal((trs, voxels))).astype(np.float32) for s in names}
    return names, X, Y


def measured(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 2 ** 30


def himalaya(names, X, Y, train, test, inner):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV

    set_backend("numpy")
    Xtr = np.concatenate([X[s] for s in train])
    Ytr = np.concatenate([Y[s] for s in train]).astype(np.float64)
    ends = np.cumsum([0] + [len(X[s]) for s in train])
    rows = {s: np.arange(ends[i], ends[i + 1]) for i, s in enumerate(train)}
    cv = [(np.concatenate([rows[s] for s in f]), np.concatenate([rows[s] for s in v])) for f, v in story_folds(train, inner)]
    dual = Xtr.shape[1] > Xtr.shape[0]
    model = (KernelRidgeCV(alphas=ALPHAS, cv=cv, kernel="linear") if dual else
             RidgeCV(alphas=ALPHAS, cv=cv, fit_intercept=False, solver_params=dict(warn=False)))
    model.fit(Xtr, Ytr)
    return np.asarray(model.predict(np.concatenate([X[s] for s in test])))


def dual_flops(n, p, v, n_test, folds=5, alphas=len(ALPHAS)):
    """Multiply-adds x 2 of fit_voxels in the dual form (eigh counted as 9 n^3)."""
    total = 0.0
    for rows, held in [(n * (folds - 1) / folds, n / folds)] * folds + [(n, n_test)]:
        total += 2 * rows * rows * p + 9 * rows ** 3 + 2 * held * rows * p + 2 * held * rows * rows
        total += 2 * rows * rows * v + (alphas if held != n_test else 1) * 2 * held * rows * v
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=10)
    ap.add_argument("--trs", type=int, default=300)
    ap.add_argument("--voxels", type=int, default=2000)
    ap.add_argument("--features", type=int, nargs="+", default=[128, 1024])   # primal, dual at the defaults
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--device", default=None)
    ap.add_argument("--no-himalaya", action="store_true")
    a = ap.parse_args()
    rate = None
    for features in a.features:
        names, X, Y = problem(a.stories, a.trs, features, a.voxels)
        train, test = names[1:], names[:1]
        n = sum(len(X[s]) for s in train)
        form = "dual" if 4 * features > n else "primal"
        print(f"\n{a.stories} stories x {a.trs} TRs ({n} training), {features} x 4 features ({form}), {a.voxels} voxels, "
              f"{a.threads} threads, backend {a.backend}")
        with threadpool_limits(a.threads):
            ours, t_ours, m_ours = measured(lambda: fit_voxels(X, Y, train, test, inner_folds=5, backend=a.backend,
                                                               device=a.device, voxel_batch=1024))
            print(f"  brainalign  {t_ours:8.2f} s   peak {m_ours:6.2f} GiB")
            if not a.no_himalaya:
                ref, t_ref, m_ref = measured(lambda: himalaya(names, X, Y, train, test, 5))
                diff = np.abs(ours.predictions[test[0]] - ref).max()
                print(f"  himalaya    {t_ref:8.2f} s   peak {m_ref:6.2f} GiB   ours / himalaya = {t_ours / t_ref:.2f}  "
                      f"(max |prediction difference| {diff:.1e})")
        if form == "dual":
            rate = dual_flops(n, 4 * features, a.voxels, a.trs) / t_ours
    if rate:
        layers, n, p, v = 33, 9000, 4 * 4096, 80000
        flops = layers * dual_flops(n * 26 / 27, p, v, n / 27)
        print(f"\nmeasured dual rate here: {rate / 1e9:.1f} GFLOP/s")
        print(f"EXTRAPOLATED (not measured): one LeBel subject x 33 layers of LLaMA-7B ({n} TRs, {p} features, {v} voxels):"
              f" {flops / 1e15:.1f} PFLOP -> {flops / rate / 3600:.1f} h at this machine's rate; "
              f"{flops / (67e12 * 0.5) / 60:.1f} min on one H100 (67 TFLOP/s FP64 x 0.5)")


if __name__ == "__main__":
    main()
