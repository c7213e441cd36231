"""The voxelwise encoding pipeline's maths (brainalign/metrics/voxelwise.py), checked against
himalaya's RidgeCV / KernelRidgeCV with voxelwise_tutorials' Delayer on the same splits."""

import numpy as np
import pytest

from brainalign.metrics.voxelwise import (delayed, fit_voxels, lanczos_matrix, story_design, story_folds,
                                          zscore)
from tests.runif import run_if

STORIES = [f"story{i}" for i in range(5)]


def _problem(n_features, seed=0, n_voxels=30):
    rng = np.random.default_rng(seed)
    F = {s: zscore(rng.standard_normal((50 + 9 * i, n_features))) for i, s in enumerate(STORIES)}
    X = {s: delayed(F[s], [1, 2, 3, 4]) for s in STORIES}
    W = rng.standard_normal((4 * n_features, n_voxels)) * (rng.random(n_voxels) < 0.5)
    Y = {s: zscore(X[s] @ W + 4 * rng.standard_normal((len(X[s]), n_voxels))) for s in STORIES}
    return F, X, Y


def _himalaya_splits(train, X):
    lengths = np.cumsum([0] + [len(X[s]) for s in train])
    rows = {s: np.arange(lengths[i], lengths[i + 1]) for i, s in enumerate(train)}
    return [(np.concatenate([rows[s] for s in fit]), np.concatenate([rows[s] for s in val]))
            for fit, val in story_folds(train, 4)]


@run_if(package="voxelwise_tutorials")
@pytest.mark.parametrize("n_features,model", [(5, "RidgeCV"), (90, "KernelRidgeCV")])   # primal, dual
def test_equals_himalaya_with_delayer(n_features, model):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV
    from voxelwise_tutorials.delayer import Delayer

    set_backend("numpy")
    F, X, Y = _problem(n_features)
    for s in STORIES:   # our delays are the Delayer's
        assert np.array_equal(Delayer(delays=[1, 2, 3, 4]).fit_transform(F[s]), X[s])
    train, test = STORIES[:4], STORIES[4:]
    alphas = np.logspace(-1, 5, 7)
    ours = fit_voxels(X, Y, train, test, alphas=alphas, inner_folds=4, voxel_batch=7)
    X_train, Y_train = np.concatenate([X[s] for s in train]), np.concatenate([Y[s] for s in train])
    cv = _himalaya_splits(train, X)
    ref = (RidgeCV(alphas=alphas, cv=cv, fit_intercept=False) if model == "RidgeCV" else
           KernelRidgeCV(alphas=alphas, cv=cv, kernel="linear")).fit(X_train, Y_train)
    assert len(set(ours.alpha)) > 1   # penalties do differ between voxels
    np.testing.assert_allclose(ours.alpha, np.asarray(ref.best_alphas_), rtol=1e-12)   # himalaya: exp(log(alpha))
    pred = np.asarray(ref.predict(X[test[0]]))
    np.testing.assert_allclose(ours.predictions[test[0]], pred, atol=1e-6)
    r = [np.corrcoef(pred[:, j], Y[test[0]][:, j])[0, 1] for j in range(pred.shape[1])]
    np.testing.assert_allclose(ours.r, r, atol=1e-6)


def test_torch_backend_and_batches_agree_with_numpy():
    _, X, Y = _problem(90, seed=1)
    a = fit_voxels(X, Y, STORIES[1:], STORIES[:1], inner_folds=3, voxel_batch=1000)
    b = fit_voxels(X, Y, STORIES[1:], STORIES[:1], inner_folds=3, voxel_batch=4, backend="torch")
    np.testing.assert_allclose(a.r, b.r, atol=1e-10)
    np.testing.assert_array_equal(a.alpha, b.alpha)


def test_planted_voxels_score_above_noise_voxels():
    _, X, Y = _problem(5, seed=2, n_voxels=60)
    rng = np.random.default_rng(3)
    for s in STORIES:   # the last 30 voxels: noise only
        Y[s][:, 30:] = zscore(rng.standard_normal((len(Y[s]), 30)))
    fit = fit_voxels(X, Y, STORIES[:4], STORIES[4:], inner_folds=4)
    assert fit.r[30:].mean() < 0.1 < fit.r[:30][fit.r[:30] > 0].mean()


def test_story_folds_never_split_a_story():
    folds = story_folds(STORIES, 3)
    assert [sorted(val) for _, val in folds] == [["story0", "story1"], ["story2", "story3"], ["story4"]]
    for fit, val in folds:
        assert not set(fit) & set(val) and sorted(fit + val) == sorted(STORIES)
    assert len(story_folds(STORIES, 10)) == 5


def test_lanczos_recovers_a_slow_signal_and_removes_a_fast_one():
    rng = np.random.default_rng(0)
    times = np.arange(0, 200, 0.25) + rng.uniform(-0.1, 0.1, 800)   # jittered word times, 4 words / s
    trs = np.arange(5, 195, 2.0)
    weights = lanczos_matrix(times, trs, window=3)
    slow, fast = np.sin(2 * np.pi * times / 40), np.sin(2 * np.pi * times / 1.3)   # 0.025 Hz; 0.77 Hz > Nyquist 0.25 Hz
    at_trs = weights @ slow
    assert np.corrcoef(at_trs, np.sin(2 * np.pi * trs / 40))[0, 1] > 0.99
    assert np.abs(weights @ fast).max() < 0.2 * np.abs(at_trs).max()


def test_story_design_trims_zscores_and_delays():
    rng = np.random.default_rng(0)
    X = story_design(rng.standard_normal((300, 3)), np.sort(rng.uniform(0, 200, 300)), 100, 2.0,
                     trim_start=10, trim_end=5, delays=[1, 2])
    assert X.shape == (85, 6)
    np.testing.assert_allclose(X[1:, :3].std(0), 1.0, atol=0.1)
    assert np.all(X[0, :3] == 0) and np.all(X[:2, 3:] == 0)
