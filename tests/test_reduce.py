"""Feature-count control (metric.n_components / metric.reduce): brainalign/metrics/reduce.py and its settings."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.random_projection import GaussianRandomProjection

from brainalign.benchmarks.reduction import reduce_label, reduction_arguments, result_settings
from brainalign.errors import ConfigError
from brainalign.metrics import banded_unique_variance, linear_predictivity, ridge_predictivity, shuffle_splits
from brainalign.metrics.compare import split_predictions
from brainalign.metrics.reduce import gaussian_projection


def batched_r(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return ((a / (np.linalg.norm(a, axis=0) + 1e-8)) * (b / (np.linalg.norm(b, axis=0) + 1e-8))).sum(0)


def problem(n=50, d=30, m=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))   # correlated columns: PCA matters
    Y = X[:, :5] @ rng.standard_normal((5, m)) + 3 * rng.standard_normal((n, m)) + 2
    return X, Y


@pytest.mark.parametrize("n,d,k", [(50, 30, 4), (40, 90, 6)])   # d < n and d > n (row basis)
def test_pca_linear_equals_sklearn_pipeline(n, d, k):
    X, Y = problem(n, d)
    splits = shuffle_splits(n, 4, 0.8, 1)
    score = linear_predictivity(X, Y, splits=splits, n_components=k)
    predictions = split_predictions(X, Y, splits, n_components=k, reduce="pca")
    for s, (train, test) in enumerate(splits):
        reference = make_pipeline(PCA(k), LinearRegression()).fit(X[train], Y[train]).predict(X[test])
        np.testing.assert_allclose(predictions[s], reference, atol=1e-5)   # float32 storage
        np.testing.assert_allclose(score.per_split_neuroid[s], batched_r(reference, Y[test]), atol=1e-8)
    assert abs(score.raw - linear_predictivity(X, Y, splits=splits).raw) > 1e-3   # it did reduce


def test_pca_ridge_equals_sklearn_pipeline():
    X, Y = problem(48, 40)
    splits = shuffle_splits(48, 3, 0.75, 2)
    alphas = np.logspace(-3, 3, 7)
    score = ridge_predictivity(X, Y, splits=splits, alphas=alphas, n_components=5)
    for s, (train, test) in enumerate(splits):
        pipe = make_pipeline(PCA(5), RidgeCV(alphas=alphas)).fit(X[train], Y[train])
        assert score.alphas[s] == pipe[-1].alpha_
        np.testing.assert_allclose(score.per_split_neuroid[s], batched_r(pipe.predict(X[test]), Y[test]), atol=1e-8)


def test_random_projection_is_sklearns_gaussian_projection():
    X, Y = problem(50, 30)
    np.testing.assert_array_equal(gaussian_projection(30, 6, 3),
                                  GaussianRandomProjection(6, random_state=3).fit(X).components_)
    splits = shuffle_splits(50, 3, 0.8, 1)
    score = linear_predictivity(X, Y, splits=splits, n_components=6, reduce="random-projection", reduce_seed=3)
    for s, (train, test) in enumerate(splits):
        pipe = make_pipeline(GaussianRandomProjection(6, random_state=3), LinearRegression()).fit(X[train], Y[train])
        np.testing.assert_allclose(score.per_split_neuroid[s], batched_r(pipe.predict(X[test]), Y[test]), atol=1e-8)
    other = linear_predictivity(X, Y, splits=splits, n_components=6, reduce="random-projection", reduce_seed=4)
    assert other.raw != score.raw   # the seed is a setting


@pytest.mark.parametrize("reduce", ["pca", "random-projection"])
def test_k_at_or_above_the_width_is_the_unreduced_metric(reduce):
    X, Y = problem(40, 12)
    layers = np.stack([X, X[:, ::-1] ** 2])
    splits = shuffle_splits(40, 3, 0.8, 1)
    for k in (12, 50):
        for metric in (linear_predictivity, ridge_predictivity):
            plain = metric(layers, Y, splits=splits)
            reduced = metric(layers, Y, splits=splits, n_components=k, reduce=reduce)
            for a, b in zip(plain, reduced):
                np.testing.assert_allclose(a.per_split_neuroid, b.per_split_neuroid, atol=1e-8)
    # PCA keeping every direction of the training rows is the plain fit, whichever path computes it
    wide, _ = problem(40, 60)
    np.testing.assert_allclose(linear_predictivity(wide, Y, splits=splits, n_components=39).per_split_neuroid,
                               linear_predictivity(wide, Y, splits=splits).per_split_neuroid, atol=1e-8)


def test_banded_k_at_width_is_unreduced_and_k_below_changes_it():
    X, Y = problem(40, 12, m=4)
    bands = [np.arange(40.0)[:, None] % 5]
    splits = shuffle_splits(40, 2, 0.8, 1)
    plain = banded_unique_variance(X, Y, bands, splits, n_gammas=4)
    same = banded_unique_variance(X, Y, bands, splits, n_gammas=4, n_components=12)
    fewer = banded_unique_variance(X, Y, bands, splits, n_gammas=4, n_components=2)
    np.testing.assert_allclose(plain.unique.per_split_neuroid, same.unique.per_split_neuroid, atol=1e-10)
    assert not np.allclose(plain.unique.per_split_neuroid, fewer.unique.per_split_neuroid)


def test_pca_never_sees_the_test_rows():
    """The test rows carry a direction of large variance that the training rows lack: a PCA fitted on all
    rows would keep it as its one component, one fitted on the training rows keeps the shared direction."""
    rng = np.random.default_rng(5)
    n, train, test = 60, np.arange(48), np.arange(48, 60)
    signal = rng.standard_normal(n)
    X = np.column_stack([signal, 0.01 * rng.standard_normal(n)])
    X[test, 1] = 100 * rng.standard_normal(len(test))
    Y = signal[:, None] + 0.1 * rng.standard_normal((n, 3))
    splits = [(train, test)]
    score = linear_predictivity(X, Y, splits=splits, n_components=1)
    right = make_pipeline(PCA(1), LinearRegression()).fit(X[train], Y[train]).predict(X[test])
    leaked = LinearRegression().fit(PCA(1).fit(X).transform(X)[train], Y[train]).predict(PCA(1).fit(X).transform(X)[test])
    np.testing.assert_allclose(score.per_split_neuroid[0], batched_r(right, Y[test]), atol=1e-8)
    assert score.raw > 0.9 and np.median(batched_r(leaked, Y[test])) < 0.5
    ridge = ridge_predictivity(X, Y, splits=splits, n_components=1)
    assert ridge.raw > 0.9


@pytest.mark.parametrize("settings,message", [
    ({"n_components": 0}, "n_components=0: must be a positive integer"),
    ({"n_components": -3}, "n_components=-3: must be a positive integer"),
    ({"n_components": 4, "reduce": "foo"}, "reduce=foo: choose one of pca, random-projection"),
    ({"reduce": "pca"}, "reduce=pca needs metric.n_components"),
])
def test_bad_settings_are_one_line_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message) as err:
        reduction_arguments(settings)
    assert "\n" not in str(err.value)


def test_folder_names_and_settings():
    assert reduce_label("linear") == "linear"
    assert reduce_label("linear", 64) == "linear-pca64" == reduce_label("linear", 64, "pca")
    assert reduce_label("ridge", 64, "random-projection") == "ridge-rp64"
    assert reduce_label("ridge", 64, "random-projection", 3) == "ridge-rp64-seed3"
    off = {"kind": "linear", "n_components": None, "reduce": None, "reduce_seed": 0}
    assert result_settings(off) == {"kind": "linear"}     # results from before the control keep their key
    on = {**off, "n_components": 8}
    assert result_settings(on) == on


def test_a_reduced_run_has_its_own_folder_and_settings_key(make_config, tmp_path):
    from brainalign.app.run import run

    base = ("model=randomembedding-100", "dataset.n_passages=8", "dataset.voxels_per_subject=5")
    plain = run(make_config(*base))
    reduced = run(make_config(*base, "metric.n_components=4"))
    assert "n_components" not in plain["settings"]["metric"]
    assert reduced["settings"]["metric"]["n_components"] == 4 and reduced["settings_key"] != plain["settings_key"]
    assert reduced["metric"] == "linear-pca4" and reduced["raw"] != plain["raw"]
    found = sorted(p.parent.name for p in (tmp_path / "out").rglob("result.json"))
    assert found == ["linear", "linear-pca4"]


@pytest.mark.parametrize("metric", [linear_predictivity, ridge_predictivity])
def test_torch_backend_gives_the_same_reduced_scores(metric):
    X, Y = problem(40, 60)
    splits = shuffle_splits(40, 3, 0.8, 1)
    a = metric(X, Y, splits=splits, n_components=5, backend="numpy")
    b = metric(X, Y, splits=splits, n_components=5, backend="torch", device="cpu")
    np.testing.assert_allclose(a.per_split_neuroid, b.per_split_neuroid, atol=1e-8)


def test_the_comparison_design_gives_back_the_reduced_score():
    """What brain.comparison_arrays stores for a reduced run (PCA: the row basis and the reduction in the
    metric's settings; random projection: the projected features' row basis) refits to the run's r."""
    from brainalign.metrics.crossval import row_basis
    from brainalign.metrics.protocols import score_protocol
    from brainalign.metrics.reduce import random_projection

    X, Y = problem(n=60, d=40)
    splits = shuffle_splits(60, 5)
    plain = {"kind": "linear", "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}
    for reduce in ("pca", "random-projection"):
        run = score_protocol(X, Y, splits, **plain, n_components=6, reduce=reduce, reduce_seed=3)[0]
        if reduce == "pca":
            again = score_protocol(row_basis(X), Y, splits, **plain, n_components=6, reduce="pca")[0]
        else:
            again = score_protocol(row_basis(random_projection(X[None], 6, 3)[0]), Y, splits, **plain)[0]
        assert np.allclose(again.per_split_neuroid, run.per_split_neuroid, atol=1e-8)
