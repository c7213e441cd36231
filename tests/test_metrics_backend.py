"""The metrics' backends (numpy, torch) agree; caller-given splits; the fast paths equal the SVD path."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from brainalign.errors import ConfigError
from brainalign.metrics import linear_predictivity, ridge_predictivity, shuffle_splits
from brainalign.metrics import linear as linear_module
from brainalign.metrics.backend import get_backend
from runif import run_if


def problem(n=50, d=70, m=15, layers=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((layers, n, d))
    Y = X[-1, :, :4] @ rng.standard_normal((4, m)) + rng.standard_normal((n, m)) + 3
    return X, Y


@pytest.mark.parametrize("d", [70, 20, 46])  # dual, primal fast paths; SVD path (45 <= d < 49)
@pytest.mark.parametrize("correlation", ["batched", "scipy"])
def test_torch_cpu_equals_numpy_linear(d, correlation):
    X, Y = problem(d=d)
    ours = linear_predictivity(X, Y, correlation=correlation, backend="numpy")
    theirs = linear_predictivity(X, Y, correlation=correlation, backend="torch", device="cpu")
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.per_split_neuroid, b.per_split_neuroid, atol=1e-9)


@pytest.mark.parametrize("d", [70, 20])
def test_torch_cpu_equals_numpy_ridge(d):
    X, Y = problem(d=d)
    groups = np.arange(50) % 10
    ours = ridge_predictivity(X, Y, groups=groups, n_splits=5, backend="numpy")
    theirs = ridge_predictivity(X, Y, groups=groups, n_splits=5, backend="torch", device="cpu")
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.alphas, b.alphas)
        np.testing.assert_allclose(a.per_split_neuroid, b.per_split_neuroid, atol=1e-9)


def test_backend_choice_and_bad_values():
    assert get_backend("auto").name == "numpy"
    assert get_backend("auto", "cpu").name == "numpy"
    assert get_backend("torch", "cpu").name == "torch"
    with pytest.raises(ConfigError, match="backend"):
        get_backend("jax")
    if not torch.cuda.is_available():
        assert get_backend("auto", "cuda").name == "numpy"  # auto: numpy when there is no GPU
        with pytest.raises(ConfigError, match="CUDA"):
            get_backend("torch", "cuda")


@run_if(cuda=True)
def test_cuda_equals_numpy():
    X, Y = problem()
    a = linear_predictivity(X, Y, backend="numpy")
    b = linear_predictivity(X, Y, backend="torch", device="cuda")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.per_split_neuroid, y.per_split_neuroid, atol=1e-9)


def test_given_splits_replace_the_built_in_ones():
    X, Y = problem(layers=1)
    x = X[0]
    rng = np.random.default_rng(1)
    splits = []
    for _ in range(3):  # uneven sizes, and rows left out of both sets
        order = rng.permutation(50)
        splits.append((order[:35], order[38:]))
    score = linear_predictivity(x, Y, splits=splits)
    for k, (train, test) in enumerate(splits):
        pred = LinearRegression().fit(x[train], Y[train]).predict(x[test])
        pred, target = pred - pred.mean(0), Y[test] - Y[test].mean(0)
        r = (pred * target).sum(0) / ((np.linalg.norm(pred, axis=0) + 1e-8)
                                      * (np.linalg.norm(target, axis=0) + 1e-8))
        np.testing.assert_allclose(score.per_split_neuroid[k], r, atol=1e-6)
    # the built-in splits, given explicitly, give the default result
    default = linear_predictivity(x, Y)
    explicit = linear_predictivity(x, Y, splits=shuffle_splits(50))
    np.testing.assert_allclose(default.per_split_neuroid, explicit.per_split_neuroid, atol=1e-12)
    ridge = ridge_predictivity(x, Y, splits=splits)
    assert ridge.per_split_neuroid.shape == (3, Y.shape[1]) and len(ridge.alphas) == 3


def test_bad_splits_are_rejected():
    X, Y = problem(layers=1)
    with pytest.raises(ValueError, match="share rows"):
        linear_predictivity(X[0], Y, splits=[(np.arange(30), np.arange(25, 50))])
    with pytest.raises(ValueError, match="in \\[0, 50\\)"):
        linear_predictivity(X[0], Y, splits=[(np.arange(30), np.arange(30, 51))])
    with pytest.raises(ValueError, match="integer"):
        ridge_predictivity(X[0], Y, splits=[(np.arange(30) * 1.0, np.arange(30, 50))])
    with pytest.raises(ValueError, match="groups has 3 labels"):
        ridge_predictivity(X[0], Y, groups=["a", "b", "c"])


def svd_only(X, Y, rcond=None, correlation="batched"):
    """The metric with every layer forced through the per-split SVD (the reference path)."""
    original = linear_module.leave_out_kernel
    linear_module.leave_out_kernel = lambda *args: None
    try:
        return linear_predictivity(X, Y, rcond=rcond, correlation=correlation)
    finally:
        linear_module.leave_out_kernel = original


@pytest.mark.parametrize("shape", [(60, 200), (60, 59), (60, 30), (60, 54), (60, 58)])
@pytest.mark.parametrize("correlation", ["batched", "scipy"])
def test_fast_path_equals_svd_path(shape, correlation):
    # d > n, d = n - 1 (dual); d < n_train, d close to n_train (primal, some blocks fail their
    # check); n_train <= d < n - 1 (no fast path: every split by SVD)
    n, d = shape
    rng = np.random.default_rng(d)
    X = rng.standard_normal((n, d)) * np.logspace(0, -2, d) + 5
    Y = X[:, :3] @ rng.standard_normal((3, 12)) + rng.standard_normal((n, 12))
    np.testing.assert_allclose(linear_predictivity(X, Y, correlation=correlation).per_split_neuroid,
                               svd_only(X, Y, correlation=correlation).per_split_neuroid, atol=1e-9)


def test_rank_deficient_features_keep_min_norm_semantics():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((60, 8))
    Y = base @ rng.standard_normal((8, 10)) + rng.standard_normal((60, 10))
    duplicated = np.concatenate([base, 2 * base, base[:, :4] - base[:, 4:]], axis=1)  # rank 8
    wide = np.concatenate([duplicated, duplicated @ rng.standard_normal((20, 100))], axis=1)
    for X in (duplicated, wide):
        score = linear_predictivity(X, Y)
        expected = svd_only(X, Y)
        np.testing.assert_allclose(score.per_split_neuroid, expected.per_split_neuroid, atol=1e-9)
        for k, (train, test) in enumerate(shuffle_splits(60)):
            pred = LinearRegression().fit(X[train], Y[train]).predict(X[test])
            pred, target = pred - pred.mean(0), Y[test] - Y[test].mean(0)
            r = (pred * target).sum(0) / ((np.linalg.norm(pred, axis=0) + 1e-8)
                                          * (np.linalg.norm(target, axis=0) + 1e-8))
            np.testing.assert_allclose(score.per_split_neuroid[k], r, atol=1e-6)


def test_rcond_near_a_singular_value_uses_the_exact_cutoff():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((50, 5))
    small = rng.standard_normal((50, 100)) * 3e-6  # singular values ~1e-6 relative: at the cutoff
    X = np.concatenate([base * 10, small], axis=1)
    Y = base @ rng.standard_normal((5, 6)) + rng.standard_normal((50, 6))
    for rcond in (1e-6, 1e-8):
        np.testing.assert_allclose(linear_predictivity(X, Y, rcond=rcond).per_split_neuroid,
                                   svd_only(X, Y, rcond=rcond).per_split_neuroid, atol=1e-9)


@pytest.mark.parametrize("kind", ["linear", "ridge"])
def test_the_runs_device_reaches_the_metric(kind, monkeypatch):
    """A benchmark scores on the run's device (device=cuda with metric.backend=torch computes on the GPU):
    score_part passes it through the metric's declaration to the backend."""
    import pandas as pd
    from omegaconf import OmegaConf

    from brainalign.benchmarks.brain import score_part
    from brainalign.config import metric_config
    from brainalign.datasets.brain import BrainData
    from brainalign.metrics import backend as backend_module

    seen = []
    real = backend_module.get_backend
    monkeypatch.setattr(linear_module, "get_backend", lambda b, d=None: seen.append((b, d)) or real(b, d))
    monkeypatch.setattr("brainalign.metrics.ridge.get_backend", lambda b, d=None: seen.append((b, d)) or real(b, d))
    X, Y = problem(n=40)
    stimuli = pd.DataFrame({"stimulus_id": range(40), "text": ["w"] * 40, "passage_label": np.arange(40) // 5,
                            "story": np.arange(40) // 5})
    data = BrainData("toy", stimuli, Y, pd.DataFrame({"neuroid_id": range(Y.shape[1]), "subject": ["a"] * Y.shape[1]}),
                     ceiling=0.5)
    cfg = metric_config(OmegaConf.create({"kind": kind, "backend": "torch", "n_splits": 4}))
    score_part(data, X, cfg, device="cpu")
    assert seen and set(seen) == {("torch", "cpu")}
