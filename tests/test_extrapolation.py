"""Brain-Score's extrapolation ceiling on simulated subjects that share a known signal."""

from types import SimpleNamespace

import numpy as np
import pytest

from brainalign.benchmarks.ceilings import cached_ceiling
from brainalign.metrics.extrapolation import (collect, extrapolate, extrapolation_ceiling, fit_vectorized, saturation,
                                              subject_subsets)
from numpy.random import RandomState


def ols_pearson(source, target, n_splits=4):
    """A small stand-in for the benchmark metric: OLS with intercept, interleaved folds, r per neuroid."""
    n = len(source)
    X = np.c_[np.ones(n), source]
    out = []
    for f in range(n_splits):
        test = np.arange(f, n, n_splits)
        train = np.setdiff1d(np.arange(n), test)
        P = X[test] @ np.linalg.lstsq(X[train], target[train], rcond=None)[0]
        a, b = P - P.mean(0), target[test] - target[test].mean(0)
        out.append((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0)))
    return np.array(out)


def simulate(noise, n_subjects=5, per_subject=3, n=160, k=3, seed=0, identical=False):
    """Each subject's neuroids: a shared signal S [n, k] through a subject-specific map, plus noise."""
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, k))
    A = rng.standard_normal((k, per_subject))
    blocks = []
    for _ in range(n_subjects):
        if identical:
            blocks.append(S @ A)
        else:
            blocks.append(S @ (A + 0.3 * rng.standard_normal(A.shape)) + noise * rng.standard_normal((n, per_subject)))
    return np.hstack(blocks), np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)


def test_subsets():
    subjects = ["b", "a", "c", "d", "e"]
    sizes = {n: subject_subsets(subjects, n, "blank", RandomState(0)) for n in range(2, 6)}
    assert [len(v) for v in sizes.values()] == [10, 10, 5, 1]  # 26 subsets, as Blank2014's 5 subjects
    assert sizes[2][0] == ("a", "b")
    rng = RandomState(0)
    random = [subject_subsets(subjects, n, "pereira", rng, n_subsets=10) for n in range(2, 6)]
    assert [len(v) for v in random] == [10, 10, 10, 10] and all(len(set(s)) == len(s) for v in random for s in v)
    assert len(subject_subsets(["a", "b", "c"], 3, "pereira", RandomState(0), n_subsets=10)) == 6  # all there are


def test_collect_holds_each_subject_out():
    Y, subjects = simulate(1.0)
    col = collect(Y, subjects, ols_pearson)
    assert sorted(col) == [2, 3, 4, 5]
    assert col[2].shape == (10 * 4, 15) and col[5].shape == (1 * 4, 15)
    # a subject is held out in the 4 pairs it belongs to, 4 splits each
    assert (~np.isnan(col[2][:, 0])).sum() == 4 * 4 and (~np.isnan(col[5])).all()
    with pytest.raises(ValueError, match="at least 3 subjects"):
        collect(Y[:, :6], subjects[:6], ols_pearson)


def test_ceiling_behaves():
    ceilings = {}
    for noise in (0.5, 1.5, 4.0):
        c = extrapolation_ceiling(*simulate(noise), ols_pearson, n_bootstraps=30, fit="vectorized")
        assert c.per_neuroid.shape == (15,) and c.bootstrap_v0.shape == (15, 30)
        observed = np.nanmedian(c.mean_by_size[-1])
        assert observed - 0.02 <= c.ceiling < 1.0, noise  # extrapolates beyond 5 subjects, stays below 1
        ceilings[noise] = c.ceiling
    assert ceilings[0.5] > ceilings[1.5] > ceilings[4.0] > 0.0
    assert ceilings[0.5] > 0.85 and ceilings[4.0] < 0.35
    same = extrapolation_ceiling(*simulate(0.0, identical=True), ols_pearson, n_bootstraps=10, fit="vectorized")
    assert same.ceiling == pytest.approx(1.0, abs=1e-6)


def test_curve_fit_and_vectorized_agree():
    col = collect(*simulate(1.5, per_subject=2), ols_pearson)
    a = extrapolate(col, n_bootstraps=15, fit="curve_fit")
    b = extrapolate(col, n_bootstraps=15, fit="vectorized")
    assert np.nanmedian(a[0]) == pytest.approx(np.nanmedian(b[0]), abs=0.01)
    # the vectorized fit is never worse than curve_fit on the same curve
    xs = np.array([2.0, 3, 4, 5])
    ys = np.array([[0.30, 0.36, 0.39, 0.41], [0.9, 0.95, 0.97, 0.98], [-0.02, 0.01, -0.01, 0.0]])
    v0, tau = fit_vectorized(xs, ys)
    assert np.all((v0 >= 0) & (v0 <= 1))
    from brainalign.metrics.extrapolation import _fit
    for y, v, t in zip(ys, v0, tau):
        cv, ct = _fit(xs, y)
        assert ((y - saturation(xs, v, t)) ** 2).sum() <= ((y - saturation(xs, cv, ct)) ** 2).sum() + 1e-12


def test_pereira_variant_and_score_objects():
    Y, subjects = simulate(1.0, n_subjects=4, per_subject=2)
    metric = lambda s, t: SimpleNamespace(per_split_neuroid=ols_pearson(s, t))  # noqa: E731
    c = extrapolation_ceiling(Y, subjects, metric, variant="pereira", n_bootstraps=10, fit="vectorized")
    assert 0 < c.ceiling < 1 and list(c.sizes) == [2, 3, 4] and c.settings["variant"] == "pereira"


def test_cache(tmp_path):
    Y, subjects = simulate(1.0, n_subjects=3, per_subject=2)
    calls = []

    def metric(s, t):
        calls.append(1)
        return ols_pearson(s, t)

    first = cached_ceiling(tmp_path, Y, subjects, metric, metric_name="ols", n_bootstraps=10, fit="vectorized")
    n_calls = len(calls)
    again = cached_ceiling(tmp_path, Y, subjects, metric, metric_name="ols", n_bootstraps=10, fit="vectorized")
    assert len(calls) == n_calls and again.ceiling == first.ceiling
    np.testing.assert_array_equal(again.per_neuroid, first.per_neuroid)
    assert again.settings["metric"] == "ols" and list(again.subjects) == list(subjects)
    cached_ceiling(tmp_path, Y * 2 + 1e-3, subjects, metric, metric_name="ols", n_bootstraps=10, fit="vectorized")
    assert len(calls) > n_calls and len(list((tmp_path / "ceilings").glob("*.npz"))) == 2


def shuffle_split_ols(source, target):
    """Brain-Score's linear_pearsonr in miniature: ShuffleSplit 10 x 0.9 (seed 1), OLS with intercept."""
    from sklearn.model_selection import ShuffleSplit

    X = np.c_[np.ones(len(source)), source]
    out = []
    for train, test in ShuffleSplit(10, train_size=0.9, random_state=1).split(X):
        P = X[test] @ np.linalg.lstsq(X[train], target[train], rcond=None)[0]
        a, b = P - P.mean(0), target[test] - target[test].mean(0)
        out.append((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0)))
    return np.array(out)


@pytest.mark.slow
def test_blank_shaped_ceiling():
    """Blank2014's shape: 5 subjects x 12 fROIs over 1,317 TRs, its subsets and its metric's splits."""
    Y, subjects = simulate(3.0, n_subjects=5, per_subject=12, n=1317, k=4, seed=2)
    col = collect(Y, subjects, shuffle_split_ols)
    assert {n: v.shape for n, v in col.items()} == {2: (100, 60), 3: (100, 60), 4: (50, 60), 5: (10, 60)}
    c = extrapolation_ceiling(Y, subjects, shuffle_split_ols, n_bootstraps=100, fit="vectorized")
    observed = np.nanmedian(c.mean_by_size, axis=1)
    assert np.all(np.diff(observed) > 0) and observed[-1] <= c.ceiling < 1.0
