"""Banded ridge and unique variance beyond confounds, on simulated data with a known answer."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from brainalign.metrics import banded_unique_variance
from brainalign.metrics.banded import band_weights, fit_predict
from brainalign.metrics.splits import shuffle_splits


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):  # tiny eigendecompositions: threads only contend
        yield


def simulated(seed=0, passages=30, per_passage=5, voxels=120, signal=0.6):
    """Voxels driven by position in passage (a confound) plus, optionally, a 'linguistic' signal."""
    rng = np.random.default_rng(seed)
    n = passages * per_passage
    position = np.tile(np.arange(per_passage), passages)[:, None].astype(float)
    length = rng.integers(4, 20, size=(n, 1)).astype(float)
    language = rng.standard_normal((n, 40))
    Y = (position - position.mean()) @ rng.standard_normal((1, voxels)) * 0.8
    Y += length @ rng.standard_normal((1, voxels)) * 0.05
    Y += signal * language[:, :6] @ rng.standard_normal((6, voxels)) / np.sqrt(6)
    Y += rng.standard_normal((n, voxels))
    subjects = np.repeat(["s1", "s2", "s3"], voxels // 3)
    return language, [position, length], Y, subjects


def test_planted_signal_beyond_confounds_is_recovered_and_a_confound_copy_adds_nothing():
    language, confounds, Y, subjects = simulated()
    position = confounds[0]
    noise = np.random.default_rng(9).standard_normal(language.shape)
    X = np.stack([language, np.repeat(position, 40, axis=1), noise])  # signal / confound copy / nothing
    splits = shuffle_splits(len(Y), n_splits=4)
    signal, copy, random = banded_unique_variance(X, Y, confounds, splits, subjects=subjects, n_gammas=12)
    assert signal.unique.raw > 0.05 and signal.gain.raw > 0.03  # the random layer: 0
    assert abs(copy.unique.raw) < 0.005 and abs(random.unique.raw) < 0.01
    assert signal.confounds is copy.confounds and copy.confounds.raw > 0.3  # position explains a lot
    assert signal.joint.raw > copy.joint.raw
    assert np.mean(signal.model_weight) > np.mean(random.model_weight)
    assert set(signal.unique.per_subject) == {"s1", "s2", "s3"}
    assert signal.unique.per_split_neuroid.shape == (4, Y.shape[1])


def test_unique_variance_grows_with_the_planted_signal():
    values = []
    for strength in (0.0, 0.5, 1.0):
        language, confounds, Y, _ = simulated(seed=1, signal=strength)
        values.append(banded_unique_variance(language, Y, confounds, shuffle_splits(len(Y), 3), n_gammas=8).unique.raw)
    assert values[0] < 0.01 < values[1] < values[2]


def test_fixed_weights_equal_himalayas_weighted_kernel_ridge():
    from himalaya.kernel_ridge import WeightedKernelRidge   # a dependency, not an extra: never skipped

    rng = np.random.default_rng(3)
    a, b, Y = rng.standard_normal((60, 8)), rng.standard_normal((60, 3)), rng.standard_normal((60, 5))
    train, test = np.arange(45), np.arange(45, 60)
    kernels = []
    for x in (a, b):
        x = x - x[train].mean(axis=0)
        kernels.append((x[train] @ x[train].T, x[test] @ x[train].T))
    gamma, alpha = np.array([[0.7, 0.3]]), 2.0
    y_train = Y[train] - Y[train].mean(axis=0)
    ours, _, _ = fit_predict([k[0] for k in kernels], [k[1] for k in kernels], y_train, gamma, np.array([alpha]))
    model = WeightedKernelRidge(alpha=alpha, deltas=np.log(gamma[0] )[:, None].repeat(5, 1),
                                kernels="precomputed")
    model.fit(np.stack([k[0] for k in kernels]), y_train)
    theirs = model.predict(np.stack([k[1] for k in kernels]))
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_band_weights_cover_each_band_alone_and_sum_to_one():
    w = band_weights(4, 10, seed=0)
    assert w.shape == (10, 4) and np.allclose(w.sum(axis=1), 1) and np.allclose(w[:4], np.eye(4))


def test_bad_confound_shape_is_refused():
    language, confounds, Y, _ = simulated()
    with pytest.raises(ValueError, match="confound band 1"):
        banded_unique_variance(language, Y, [confounds[0], confounds[1][:10]], shuffle_splits(len(Y), 2))


def test_metric_banded_runs_through_the_app_with_baseline_confounds(make_config, tiny_gpt2):
    """`python main.py ... metric=banded`: each layer's unique variance beyond OASM, position and length,
    the confound bands built from the benchmark's own stimuli (no weights)."""
    from brainalign.app.run import run

    result = run(make_config(*tiny_gpt2, "metric=banded", "metric.n_splits=2", "metric.n_gammas=4",
                             "dataset.voxels_per_subject=8", "dataset.n_subjects=2"))
    assert result["metric"] == "banded" and result["n_layers"] == 3 and result["ceiling"] == 1.0
    planted = result["per_layer"][result["planted_layer_index"]]["raw"]
    assert planted > 0.05   # the planted layer explains variance that OASM, position and length do not
    assert result["settings"]["metric"]["confounds"] == ["oasm", "position", "length"]


def test_subject_labels_from_a_table_column_are_accepted():
    """Subjects as an object array (a pandas column's .to_numpy()) gave AttributeError: 'str' has no .item()."""
    import pandas as pd

    language, confounds, Y, subjects = simulated(voxels=30)
    labels = pd.Series(subjects).to_numpy()
    assert labels.dtype == object
    score = banded_unique_variance(language, Y, confounds, shuffle_splits(len(Y), 2), subjects=labels, n_gammas=4)
    assert set(score.unique.per_subject) == {"s1", "s2", "s3"}
    assert all(type(key) is str for key in score.unique.per_subject)
