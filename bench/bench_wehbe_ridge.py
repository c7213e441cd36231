"""Wehbe2014 ridge: the batched solver against a plain scikit-learn loop over folds x penalties.

A Wehbe-shaped problem (1,211 TRs x 40 features x 25,000 voxels by default), the study's outer CV
(4 contiguous folds, 5 TRs trimmed at the boundary, train/test z-scored separately) and its nested
10-fold choice of one penalty per voxel over 1e-6..1e9 (sum of 1 - R^2 over inner folds, first
minimum). Both sides make the same choice the same way and run under the same BLAS thread cap.

    python bench/bench_wehbe_ridge.py                 # full size (~minutes: the sklearn loop is slow)
    python bench/bench_wehbe_ridge.py --voxels 2000   # quick look
    python bench/bench_wehbe_ridge.py --threads 2     # the figure in docs/metrics.md
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from brainalign.metrics.ridge_per_target import ALPHAS, kfold, pearson_columns, ridge_nested_cv, zscore_columns
from brainalign.metrics.wehbe import WehbeSettings, outer_folds


def problem(n_trs: int, n_features: int, n_voxels: int, seed: int = 0):
    """Smooth features (like delayed TR means) and voxels with a spread of signal-to-noise ratios."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_trs + 8, n_features))
    X = sum(X[i:i + n_trs] for i in range(8)) / np.sqrt(8)  # temporal autocorrelation
    snr = rng.uniform(0, 0.6, n_voxels)
    Y = (X @ rng.standard_normal((n_features, n_voxels))) / np.sqrt(n_features) * snr
    Y += rng.standard_normal((n_trs, n_voxels))
    return X, Y


def sklearn_loop(X, Y, X_test, alphas=ALPHAS, n_splits=10):
    """The study's cross_val_ridge with sklearn's Ridge: one fit per inner fold x penalty, then refits."""
    from sklearn.linear_model import Ridge

    err = np.zeros((len(alphas), Y.shape[1]))
    for trn, val in kfold(len(X), n_splits):
        for i, a in enumerate(alphas):
            pred = Ridge(alpha=a, fit_intercept=False).fit(X[trn], Y[trn]).predict(X[val])
            with np.errstate(invalid="ignore", divide="ignore"):
                r2 = np.nan_to_num(1 - ((Y[val] - pred) ** 2).mean(0) / Y[val].var(0))
            err[i] += 1 - r2
    best = np.argmin(err, axis=0)
    out = np.zeros((len(X_test), Y.shape[1]))
    for i in np.unique(best):
        cols = best == i
        pred = Ridge(alpha=alphas[i], fit_intercept=False).fit(X, Y[:, cols]).predict(X_test)
        out[:, cols] = pred.reshape(len(X_test), -1)
    return out, alphas[best]


def outer_cv(X, Y, solver):
    folds = outer_folds(np.repeat([1, 2, 3, 4], [295, 303, 303, 310])[:len(X)], WehbeSettings())
    rs, chosen = [], []
    for f in folds:
        Xtr, Xte = zscore_columns(X[f.train]), zscore_columns(X[f.test])
        Ytr, Yte = zscore_columns(Y[f.train]), zscore_columns(Y[f.test])
        pred, alphas = solver(Xtr, Ytr, Xte)
        rs.append(pearson_columns(pred, Yte))
        chosen.append(alphas)
    return np.array(rs), np.array(chosen)


def ours(X, Y, X_test):
    fit = ridge_nested_cv(X, Y, X_test)
    return fit.predictions, fit.alphas


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trs", type=int, default=1211)
    ap.add_argument("--features", type=int, default=40)
    ap.add_argument("--voxels", type=int, default=25_000)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads, the same cap for both sides")
    args = ap.parse_args()
    if args.trs != 1211:
        raise SystemExit("the fold layout is the release's: --trs must be 1211")
    X, Y = problem(args.trs, args.features, args.voxels)
    print(f"problem: {args.trs} TRs x {args.features} features x {args.voxels} voxels, {len(ALPHAS)} penalties, "
          f"4 outer x 10 inner folds, {args.threads} BLAS thread(s)")
    load_before = os.getloadavg()[0]
    with threadpool_limits(limits=args.threads):
        t0 = time.perf_counter()
        r_ours, a_ours = outer_cv(X, Y, ours)
        t_ours = time.perf_counter() - t0
        print(f"batched (one eigendecomposition per fold): {t_ours:8.2f} s")
        t0 = time.perf_counter()
        r_sk, a_sk = outer_cv(X, Y, sklearn_loop)
        t_sk = time.perf_counter() - t0
        print(f"sklearn Ridge loop (folds x penalties):    {t_sk:8.2f} s")
    same = np.mean(a_ours == a_sk)
    print(f"wehbe_ridge: {t_ours:.2f} s vs {t_sk:.2f} s -> {t_sk / t_ours:.1f}x faster per layer "
          f"(one feature set; load average {load_before:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores)")
    print(f"same penalty chosen: {100 * same:.3f}% of voxel x fold; "
          f"max |r difference| {np.nanmax(np.abs(r_ours - r_sk)):.2e}; "
          f"mean r {np.nanmean(r_ours):.6f} vs {np.nanmean(r_sk):.6f}")


if __name__ == "__main__":
    main()
