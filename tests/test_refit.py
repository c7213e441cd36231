"""The dual bootstrap's refits (brainalign.metrics.refit.Refit) equal the metric run on the resampled
rows, copies and all (brainalign.metrics.protocols.score_protocol), on every path they take."""

import numpy as np
import pytest

from brainalign.metrics.crossval import row_basis
from brainalign.metrics.dual_bootstrap import resplit
from brainalign.metrics.protocols import score_protocol
from brainalign.metrics.refit import Refit
from brainalign.metrics.splits import group_splits, shuffle_splits

N, UNITS = 120, 30


def problem(width, neuroids, seed=0):
    rng = np.random.default_rng(seed)
    basis = row_basis(rng.standard_normal((N, width)))
    responses = 5.0 + rng.standard_normal((N, neuroids)) + 0.3 * basis[:, :3] @ rng.standard_normal((3, neuroids))
    units = np.repeat(np.arange(UNITS), N // UNITS).astype(str)
    return basis, responses, units


def resamples(units, protocol, count=3, seed=1):
    """(rows, splits over them) of bootstrap samples of whole units, as the dual bootstrap draws them."""
    rng = np.random.default_rng(seed)
    splits = shuffle_splits(N, 10, 0.9, 1) if protocol == "shuffle" else group_splits(units, 5, 1234)
    labels = np.unique(units)
    for c in range(count):
        rows = np.concatenate([np.flatnonzero(units == u) for u in rng.choice(labels, len(labels))])
        assert len(np.unique(rows)) < len(rows)   # copies present
        yield rows, resplit(splits, N, rows, units[rows], c)


def metric(kind, **extra):
    return {"kind": kind, "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy", **extra}


def reference(basis, responses, rows, splits, settings):
    return score_protocol(basis[rows], responses[rows], splits, **settings)[0].per_split_neuroid


@pytest.mark.parametrize("protocol", ["shuffle", "group"])
@pytest.mark.parametrize("correlation", ["batched", "scipy"])
def test_the_wide_linear_refit_from_the_full_kernel_equals_the_fit_on_the_copies(protocol, correlation):
    basis, responses, units = problem(400, 50)
    settings = metric("linear", correlation=correlation)
    refit = Refit(basis, responses, settings)
    assert refit.kernel is not None   # the distinct-row path, no SVD
    for rows, splits in resamples(units, protocol):
        np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, settings),
                                   atol=1e-9)


@pytest.mark.parametrize("protocol", ["shuffle", "group"])
@pytest.mark.parametrize("width, path", [(20, "_primal_smoother"), (90, "_interpolation_smoother")])
def test_the_narrow_linear_refit_equals_the_fit_on_the_copies(protocol, width, path, monkeypatch):
    """Fewer features than rows: weighted normal equations, or, where a resample keeps no more distinct
    training rows than features + 1, their minimum-norm interpolation."""
    basis, responses, units = problem(width, 50, seed=2)
    refit = Refit(basis, responses, metric("linear"))
    assert refit.kernel is None and refit.primal
    used = []
    original = getattr(refit, path)
    monkeypatch.setattr(refit, path, lambda *a: used.append(1) or original(*a))
    monkeypatch.setattr(refit, "_own_smoothers", lambda *a: pytest.fail("the SVD path was taken"))
    for rows, splits in resamples(units, protocol):
        np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, metric("linear")),
                                   atol=1e-9)
        # splits that leave rows out (no partition of the resample): the Gram matrix of the training rows
        held = [(train[::2], test) for train, test in splits]
        np.testing.assert_allclose(refit(rows, held), reference(basis, responses, rows, held, metric("linear")),
                                   atol=1e-9)
    assert used


@pytest.mark.parametrize("alike, width", [("columns", 20), ("rows", 90)])
def test_narrow_features_near_the_cutoff_take_the_metric_own_svd(alike, width):
    basis, responses, units = problem(width, 30, seed=5)
    if alike == "columns":   # a singular value near 0 for the normal equations
        basis = np.hstack([basis, basis[:, :1] * (1 + 1e-9)])
    else:                    # and for the interpolation: two stimuli (of different units) almost alike
        basis[4] = basis[0] * (1 + 1e-9)
    refit = Refit(basis, responses, metric("linear"))
    rows = np.concatenate([np.arange(N), np.arange(8)])   # every row, and both of those in training
    splits = [(np.arange(8, N + 8), np.arange(8)), (np.arange(N + 8)[::2], np.arange(N + 8)[1::2])]
    if alike == "rows":
        rows, splits = np.arange(70), [(np.arange(8, 70), np.arange(8)), (np.arange(0, 70, 2), np.arange(1, 70, 2))]
    own = []
    original = refit._own_smoothers
    refit._own_smoothers = lambda *a: own.append(1) or original(*a)
    np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, metric("linear")),
                               atol=1e-9)
    assert own


@pytest.mark.parametrize("kind, width, neuroids", [("ridge", 400, 300), ("ridge", 20, 15)])
def test_the_ridge_refits_equal_the_metric_on_the_copies(kind, width, neuroids):
    basis, responses, units = problem(width, neuroids, seed=2)
    settings = metric(kind)
    refit = Refit(basis, responses, settings)
    assert refit.kernel is None and not refit.primal
    assert (refit.gram is not None) == (kind == "ridge" and neuroids >= N)   # the responses' Gram from the originals
    for rows, splits in resamples(units, "group"):
        np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, settings),
                                   atol=1e-7)


def test_a_feature_count_control_refits_on_the_copies():
    basis, responses, units = problem(400, 40, seed=3)
    settings = metric("linear", n_components=10, reduce="pca", reduce_seed=0)
    refit = Refit(basis, responses, settings)
    assert refit.kernel is None
    for rows, splits in resamples(units, "shuffle", count=2):
        np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, settings),
                                   atol=1e-9)


def test_a_kernel_that_fails_its_check_takes_the_metric_own_smoother():
    basis, responses, units = problem(400, 30, seed=4)
    settings = metric("linear")
    refit = Refit(basis, responses, settings)
    refit.kernel = (-np.eye(N), 0.0)   # no held-out block is positive definite
    for rows, splits in resamples(units, "shuffle", count=1):
        np.testing.assert_allclose(refit(rows, splits), reference(basis, responses, rows, splits, settings),
                                   atol=1e-9)
