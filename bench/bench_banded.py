"""Time `banded_unique_variance` against himalaya fitted once per layer, on a Pereira-shaped problem.

    PYTHONPATH=. python bench/bench_banded.py [--layers 3] [--splits 1] [--gammas 10] [--threads 1]

Problem: 627 stimuli (passages of 4) x 4,096 features per layer x 13,553 voxels, 3 confound bands
(OASM-like smoothed block identity, position in passage, length in words and characters). Both sides
search the same band weights and alphas per voxel, with the same outer splits.

* ours: one call for all layers (confound kernels and the confound-only fit shared; GCV selection).
* naive: per layer, himalaya's documented pipeline (ColumnKernelizer of linear Kernelizers +
  MultipleKernelRidgeCV, random search, 5-fold inner CV), fitted for [layer + confounds] and for
  [confounds] on every split, then R2 on the test rows, as a one-layer-at-a-time script does it.

Prints the seconds per layer of each, the agreement of the two unique-variance maps on the first
layer, and `banded: <ours> s vs <naive> s -> <N>x faster per layer`. Time per layer scales with the
number of outer splits on both sides, so --splits 1 (rather than 10) keeps the naive side short.
"""
import argparse
import time

import numpy as np
from scipy.ndimage import gaussian_filter1d
from threadpoolctl import threadpool_limits

from brainalign.metrics.banded import DEFAULT_ALPHAS, band_weights, banded_unique_variance
from brainalign.metrics.splits import shuffle_splits


def problem(n=627, d=4096, voxels=13553, layers=3, per_passage=4, seed=0):
    rng = np.random.default_rng(seed)
    passage = np.arange(n) // per_passage
    position = (np.arange(n) % per_passage)[:, None].astype(float)
    words = rng.integers(5, 25, size=n)
    length = np.stack([words, words * 5 + rng.integers(0, 20, size=n)], axis=1).astype(float)
    oasm = np.zeros((n, n))  # per passage: identity smoothed along the features, at its own offset
    for p in np.unique(passage):
        rows = np.flatnonzero(passage == p)
        oasm[np.ix_(rows, rows)] = gaussian_filter1d(np.eye(len(rows)), 1.0, axis=1)
    X = rng.standard_normal((layers, n, d)).astype(np.float64)
    Y = (oasm @ rng.standard_normal((n, voxels)) * 0.5 + X[0, :, :20] @ rng.standard_normal((20, voxels)) * 0.25
         + rng.standard_normal((n, voxels)))
    return X, Y, [oasm, position, length]


def scaled(band):
    """Centred band with mean squared row norm 1, so himalaya's kernel weights mean what ours do."""
    band = band - band.mean(axis=0)
    norm = np.sqrt(np.mean(np.sum(band ** 2, axis=1)))
    return band / norm if norm > 0 else band


def naive_layer(x, Y, confounds, splits, gammas_joint, gammas_conf, alphas):
    """himalaya, one layer: joint and confound-only fit on every split; unique variance [splits, voxels]."""
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import ColumnKernelizer, Kernelizer, MultipleKernelRidgeCV
    from sklearn.pipeline import make_pipeline

    set_backend("numpy")
    bands_joint = [scaled(x)] + [scaled(c) for c in confounds]
    out = []
    for train, test in splits:
        r2 = []
        for bands, gammas in ((bands_joint, gammas_joint), (bands_joint[1:], gammas_conf)):
            features = np.hstack(bands)
            edges = np.cumsum([0] + [b.shape[1] for b in bands])
            kernelizer = ColumnKernelizer([(f"band{i}", Kernelizer(kernel="linear"), slice(edges[i], edges[i + 1]))
                                           for i in range(len(bands))])
            model = MultipleKernelRidgeCV(kernels="precomputed", solver="random_search", fit_intercept=True,
                                          solver_params=dict(n_iter=gammas, alphas=alphas, progress_bar=False), cv=5)
            pipe = make_pipeline(kernelizer, model)
            pipe.fit(features[train], Y[train])
            pred = np.asarray(pipe.predict(features[test]))
            target = Y[test]
            r2.append(1 - ((target - pred) ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0))
        out.append(r2[0] - r2[1])
    return np.array(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--splits", type=int, default=1, help="outer splits (ShuffleSplit 0.9, seed 1)")
    parser.add_argument("--gammas", type=int, default=10, help="band-weight vectors searched per fit")
    parser.add_argument("--naive-layers", type=int, default=1, help="layers timed for the naive side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--voxels", type=int, default=13553)
    args = parser.parse_args()
    X, Y, confounds = problem(layers=args.layers, voxels=args.voxels)
    splits = shuffle_splits(len(Y), n_splits=args.splits)
    print(f"problem: {len(Y)} stimuli x {X.shape[2]} features x {Y.shape[1]} voxels, {args.layers} layers, "
          f"{len(confounds)} confound bands, {args.splits} outer splits, {args.gammas} band weights x "
          f"{len(DEFAULT_ALPHAS)} alphas, {args.threads} thread(s)")
    with threadpool_limits(args.threads):
        t0 = time.perf_counter()
        scores = banded_unique_variance(X, Y, confounds, splits, n_gammas=args.gammas)
        ours = (time.perf_counter() - t0) / args.layers
        print(f"ours: {ours:.1f} s per layer; unique variance per layer "
              f"{[round(s.unique.raw, 4) for s in scores]}")
        gammas_joint = band_weights(len(confounds) + 1, args.gammas)
        gammas_conf = band_weights(len(confounds), args.gammas)
        t0 = time.perf_counter()
        naive = [naive_layer(X[i], Y, confounds, splits, gammas_joint, gammas_conf, DEFAULT_ALPHAS)
                 for i in range(args.naive_layers)]
        theirs = (time.perf_counter() - t0) / args.naive_layers
    ours_map, theirs_map = scores[0].unique.per_neuroid, naive[0].mean(axis=0)
    print(f"layer 0 unique variance: median ours {np.median(ours_map):.4f}, himalaya {np.median(theirs_map):.4f}; "
          f"r across voxels {np.corrcoef(ours_map, theirs_map)[0, 1]:.3f}")
    print(f"banded: {ours:.1f} s vs {theirs:.1f} s -> {theirs / ours:.1f}x faster per layer")


if __name__ == "__main__":
    main()
