"""The batched nested-CV ridge gives the numbers of the study's plain per-penalty loop."""

import numpy as np
import pytest
from numpy.linalg import inv
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from brainalign.metrics.ridge_per_target import ALPHAS, kfold, pearson_columns, ridge_nested_cv, zscore_columns


def plain_loop(X, Y, X_test, alphas=ALPHAS, n_splits=10):
    """The study's cross_val_ridge(method='plain'), written out: inv(X'X + aI) X'Y per fold and penalty."""
    err = np.zeros((len(alphas), Y.shape[1]))
    for trn, val in KFold(n_splits).split(X):
        for i, a in enumerate(alphas):
            W = inv(X[trn].T @ X[trn] + a * np.eye(X.shape[1])) @ X[trn].T @ Y[trn]
            err[i] += 1 - np.nan_to_num(1 - ((Y[val] - X[val] @ W) ** 2).mean(0) / Y[val].var(0))
    best = np.argmin(err, axis=0)
    W = np.zeros((X.shape[1], Y.shape[1]))
    n, p = X.shape
    for i, a in enumerate(alphas):
        cols = best == i
        if p <= n:
            W[:, cols] = inv(X.T @ X + a * np.eye(p)) @ X.T @ Y[:, cols]
        else:  # the same W in its dual form, which stays well-conditioned for tiny penalties when p > n
            W[:, cols] = X.T @ inv(X @ X.T + a * np.eye(n)) @ Y[:, cols]
    return X_test @ W, alphas[best], err


def problem(n=150, p=12, t=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + 40, p))
    W = rng.standard_normal((p, t)) * rng.uniform(0, 1, t)  # some targets barely predictable
    Y = X @ W + rng.standard_normal((n + 40, t)) * 2
    return zscore_columns(X[:n]), zscore_columns(Y[:n]), zscore_columns(X[n:]), Y[n:]


def test_kfold_is_sklearns():
    for n, k in [(23, 10), (1211, 4), (906, 10), (10, 10)]:
        ours = kfold(n, k)
        theirs = list(KFold(k).split(np.zeros(n)))
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("p", [12, 200])  # primal (p <= n) and dual (p > n)
def test_matches_plain_loop(p):
    X, Y, Xt, _ = problem(p=p)
    fit = ridge_nested_cv(X, Y, Xt)
    P, alphas, err = plain_loop(X, Y, Xt)
    assert fit.cv_error.shape == (len(ALPHAS), Y.shape[1])
    if p <= X.shape[0]:  # with p > n, inv(X'X + 1e-6 I) itself is too ill-conditioned to compare errors
        np.testing.assert_allclose(fit.cv_error, err, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(fit.alphas, alphas)
    same = fit.alphas == alphas
    np.testing.assert_allclose(fit.predictions[:, same], P[:, same], rtol=1e-6, atol=1e-8)


def test_matches_sklearn_ridge_and_target_batches():
    X, Y, Xt, _ = problem(t=30, seed=1)
    fit = ridge_nested_cv(X, Y, Xt, n_splits=5, targets_batch=7)
    ref = np.column_stack([Ridge(alpha=a, fit_intercept=False).fit(X, Y[:, j]).predict(Xt)
                           for j, a in enumerate(fit.alphas)])
    np.testing.assert_allclose(fit.predictions, ref, rtol=1e-7, atol=1e-9)
    whole = ridge_nested_cv(X, Y, Xt, n_splits=5)
    np.testing.assert_allclose(fit.predictions, whole.predictions, rtol=1e-10, atol=1e-12)


def test_penalty_follows_signal_strength():
    rng = np.random.default_rng(3)
    X = zscore_columns(rng.standard_normal((300, 10)))
    strong = X @ rng.standard_normal((10, 5))
    noise = rng.standard_normal((300, 5)) * 50
    fit = ridge_nested_cv(X[:250], zscore_columns(np.c_[strong, noise][:250]), X[250:])
    assert np.median(fit.alphas[:5]) < np.median(fit.alphas[5:])


def test_pearson_and_zscore_edge_cases():
    a = np.c_[np.arange(5.0), np.ones(5)]
    r = pearson_columns(a, a)
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1])
    z = zscore_columns(a)
    assert np.all(z[:, 1] == 0) and z[:, 0].std() == pytest.approx(1.0)
