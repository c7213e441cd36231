"""brainalign.metrics: Brain-Score's own metric tests, plus checks against plain sklearn loops."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from numpy.random import RandomState
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import GroupKFold, ShuffleSplit

from brainalign.metrics import (
    BestLayer, Score, best_layer, ceiling_normalize, default_rcond, group_splits,
    linear_predictivity, pearsonr, ridge_predictivity, shuffle_splits,
)
from brainalign.metrics import splits as splits_module


# --- Brain-Score's metric tests (metrics/linear_predictivity/test.py, pearson_correlation/test.py) ---

def brainscore_assembly_values():
    """Their `_make_assembly` default: 30 stimuli x 25 neuroids from RandomState(1)."""
    return RandomState(1).standard_normal(30 * 25).reshape((30, 25))


def brainscore_mismatched():
    """Their test_mismatched_source_target: source = arange + noise, target = Poisson(1)."""
    random_state = RandomState(1)
    source = (np.arange(30 * 25) + random_state.standard_normal(30 * 25)).reshape((30, 25))
    target = random_state.poisson(lam=1, size=30 * 25).reshape((30, 25))
    return source, target


def test_identical_source_target_is_one():
    values = brainscore_assembly_values()
    assert linear_predictivity(values, values).raw == pytest.approx(1, abs=1e-5)


def test_offset_target_is_one():
    values = brainscore_assembly_values()
    assert linear_predictivity(values, values + 2).raw == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("correlation, expected", [("batched", 0.03686426), ("scipy", 0.02826294)])
def test_mismatched_source_target(correlation, expected):
    source, target = brainscore_mismatched()
    score = linear_predictivity(source, target, correlation=correlation)
    assert score.raw == pytest.approx(expected, abs=1e-5)


def test_weak_correlation():
    # Brain-Score's `pearsonr` metric reports |r|; its test says 0.152 (tolerance 0.005), the
    # exact value is 0.15249857
    a, b = [1, 2, 3, 4, 5], [3, 1, 6, 1, 2]
    assert abs(pearsonr(a, b)) == pytest.approx(0.15249857, abs=1e-4)
    assert pearsonr(a, b, "scipy") == pytest.approx(scipy.stats.pearsonr(a, b)[0], abs=1e-12)


# --- independent references: sklearn estimators in a plain loop ---

def sklearn_linear_r(x, y, n_splits=10, rcond=None):
    """LinearRegression per ShuffleSplit, batched Pearson r per neuroid: [splits, neuroids]."""
    out = []
    for train, test in ShuffleSplit(n_splits, train_size=0.9, random_state=1).split(x):
        regression = LinearRegression()
        if rcond is not None:
            regression.tol = rcond
        prediction = regression.fit(x[train], y[train]).predict(x[test])
        out.append(batched_r(prediction, y[test]))
    return np.array(out)


def batched_r(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return ((a / (np.linalg.norm(a, axis=0) + 1e-8)) * (b / (np.linalg.norm(b, axis=0) + 1e-8))).sum(0)


def problem(n=40, d=60, m=12, layers=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, d) if layers is None else (layers, n, d)
    X = rng.standard_normal(shape)
    Y = (X if layers is None else X[-1])[:, :5] @ rng.standard_normal((5, m)) + rng.standard_normal((n, m))
    return X, Y


@pytest.mark.parametrize("n, d", [(40, 60), (60, 8)])  # n_train < d and n_train > d
def test_linear_matches_sklearn_loop(n, d):
    X, Y = problem(n, d)
    expected = sklearn_linear_r(X, Y)
    score = linear_predictivity(X, Y)
    np.testing.assert_allclose(score.per_split_neuroid, expected, atol=1e-10)
    assert score.raw == pytest.approx(np.mean(np.median(expected, axis=1)), abs=1e-12)
    np.testing.assert_allclose(score.per_neuroid, expected.mean(0), atol=1e-10)


def test_rcond_cuts_small_singular_values():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((30, 6))
    # the second block adds directions ~1e-5 times smaller than the first
    X = np.concatenate([base, 1e-5 * rng.standard_normal((30, 20))], axis=1)
    Y = base @ rng.standard_normal((6, 4)) + rng.standard_normal((30, 4))
    for rcond in (1e-6, 1e-3):
        score = linear_predictivity(X, Y, rcond=rcond)
        np.testing.assert_allclose(score.per_split_neuroid, sklearn_linear_r(X, Y, rcond=rcond),
                                   atol=1e-8)
    assert not np.allclose(linear_predictivity(X, Y, rcond=1e-6).per_split_neuroid,
                           linear_predictivity(X, Y, rcond=1e-3).per_split_neuroid)


def test_default_rcond_follows_installed_sklearn():
    import sklearn
    major, minor = map(int, sklearn.__version__.split(".")[:2])
    assert default_rcond() == (1e-6 if (major, minor) >= (1, 9) else np.finfo(float).eps)


def test_layers_in_one_call_equal_separate_calls():
    X, Y = problem(layers=3)
    together = linear_predictivity(X, Y)
    assert isinstance(together, list) and len(together) == 3
    for layer, score in enumerate(together):
        alone = linear_predictivity(X[layer], Y)
        np.testing.assert_allclose(score.per_split_neuroid, alone.per_split_neuroid, atol=1e-12)


def test_float32_features_score_like_float64():
    X, Y = problem()
    a = linear_predictivity(X.astype(np.float32), Y).raw
    b = linear_predictivity(X, Y).raw
    assert a == pytest.approx(b, abs=1e-5)


def test_scipy_convention_gives_nan_for_constant_test_columns():
    source, target = brainscore_mismatched()
    score = linear_predictivity(source, target, correlation="scipy")
    batched = linear_predictivity(source, target)
    nan = np.isnan(score.per_split_neuroid)
    assert nan.any()
    assert np.all(batched.per_split_neuroid[nan] == 0)  # batched: constant column -> r = 0
    np.testing.assert_allclose(score.per_split_neuroid[~nan], batched.per_split_neuroid[~nan], atol=1e-6)


def test_ridge_matches_sklearn_ridgecv_per_fold():
    rng = np.random.default_rng(3)
    for n, d in [(48, 70), (64, 10)]:  # eigen (n <= d) and n > d
        X = rng.standard_normal((n, d)) * 3
        Y = X[:, :4] @ rng.standard_normal((4, 9)) + 2 * rng.standard_normal((n, 9)) + 5
        groups = np.arange(n) % 8
        score = ridge_predictivity(X, Y, groups=groups, n_splits=4)
        for k, (train, test) in enumerate(
                GroupKFold(4, shuffle=True, random_state=1234).split(X, groups=groups)):
            reference = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(X[train], Y[train])
            assert score.alphas[k] == reference.alpha_
            np.testing.assert_allclose(score.per_split_neuroid[k],
                                       batched_r(reference.predict(X[test]), Y[test]), atol=1e-9)


def test_ridge_layers_and_subjects():
    X, Y = problem(n=48, layers=2)
    subjects = np.repeat(["a", "b", "c"], 4)
    scores = ridge_predictivity(X, Y, groups=np.arange(48) % 6, subjects=subjects, n_splits=3)
    assert len(scores) == 2 and set(scores[0].per_subject) == {"a", "b", "c"}
    assert scores[0].per_split_neuroid.shape == (3, 12) and scores[0].alphas.shape == (3,)



def test_constant_prediction_scores_exactly_zero():
    """Features that are zero outside each story's own block (OASM) predict held-out stories by the
    intercept alone: every test row gets the same value, so r is 0, not rounding over 1e-8."""
    rng = np.random.default_rng(0)
    sizes = [24, 30, 20, 26, 28, 22, 25, 23]
    X = scipy.linalg.block_diag(*[rng.standard_normal((s, s)) for s in sizes])
    groups = np.repeat(np.arange(len(sizes)), sizes)
    Y = rng.standard_normal((len(X), 10))
    np.testing.assert_array_equal(ridge_predictivity(X, Y, groups=groups, n_splits=8).per_split_neuroid, 0.0)
    folds = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(4)]
    np.testing.assert_array_equal(linear_predictivity(X, Y, splits=folds).per_split_neuroid, 0.0)
    real = ridge_predictivity(X + 0.1 * rng.standard_normal(X.shape), Y, groups=groups, n_splits=8)
    assert np.all(real.per_split_neuroid != 0)  # a prediction that varies is kept

# --- inputs ---

def test_nan_rows_and_subjects_are_rejected():
    X, Y = problem()
    Y_nan = Y.copy()
    Y_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        linear_predictivity(X, Y_nan)
    with pytest.raises(ValueError, match="rows"):
        linear_predictivity(X[:-1], Y)
    with pytest.raises(ValueError, match="subjects"):
        linear_predictivity(X, Y, subjects=["a"] * 3)
    with pytest.raises(ValueError, match="groups"):
        ridge_predictivity(X, Y, groups=[0, 1])
    with pytest.raises(ValueError, match="correlation"):
        linear_predictivity(X, Y, correlation="spearman")


# --- splits ---

def test_shuffle_splits_sizes():
    splits = shuffle_splits(243)
    assert len(splits) == 10
    assert all(len(train) == 218 and len(test) == 25 for train, test in splits)


def test_group_splits_fallback_matches_sklearn(monkeypatch):
    groups = np.repeat(np.array(["b", "a", "d", "c", "e", "f", "h", "g", "i"]), 3)
    expected = group_splits(groups, n_splits=4, random_state=1234)

    class OldGroupKFold:  # sklearn < 1.6: no shuffle argument
        def __init__(self, n_splits=5):
            pass

    monkeypatch.setattr(splits_module, "GroupKFold", OldGroupKFold)
    fallback = splits_module.group_splits(groups, n_splits=4, random_state=1234)
    for (train_a, test_a), (train_b, test_b) in zip(expected, fallback):
        np.testing.assert_array_equal(train_a, train_b)
        np.testing.assert_array_equal(test_a, test_b)


# --- aggregation, ceiling, layers ---

def test_score_aggregation_per_subject():
    X, Y = problem(m=6)
    subjects = ["s1", "s1", "s2", "s2", "s2", "s3"]
    score = linear_predictivity(X, Y, subjects=subjects)
    r = score.per_split_neuroid
    assert score.per_split == pytest.approx(np.median(r, axis=1))
    assert score.per_subject["s2"] == pytest.approx(np.mean(np.median(r[:, 2:5], axis=1)))
    assert score.per_subject["s3"] == pytest.approx(np.mean(r[:, 5]))
    assert score.mad_over_subjects == pytest.approx(
        scipy.stats.median_abs_deviation(list(score.per_subject.values())))
    assert linear_predictivity(X, Y).per_subject is None


def test_ceiling_normalize():
    assert ceiling_normalize(0.2, 0.4) == (0.5, 0.5)
    assert ceiling_normalize(0.5, 0.4) == (1.0, pytest.approx(1.25))
    assert ceiling_normalize(-0.1, 0.4) == (0.0, pytest.approx(-0.25))
    ceiled, unclipped = ceiling_normalize(np.array([0.1, 0.8, -0.2]), 0.4)
    np.testing.assert_allclose(ceiled, [0.25, 1.0, 0.0])
    np.testing.assert_allclose(unclipped, [0.25, 2.0, -0.5])


def fake_score(per_split):
    per_split = np.asarray(per_split, dtype=float)
    return Score(raw=float(per_split.mean()), per_split=per_split,
                 per_split_neuroid=per_split[:, None], per_neuroid=per_split.mean(keepdims=True))


def test_best_layer_max_and_cross_validated_choice():
    scores = [fake_score([0.1, 0.1, 0.1, 0.1]),
              fake_score([0.9, 0.0, 0.0, 0.0]),   # lucky on split 0 only: max 0.225
              fake_score([0.2, 0.2, 0.2, 0.2])]
    best = best_layer(scores)
    assert isinstance(best, BestLayer)
    assert (best.index, best.raw) == (1, pytest.approx(0.225))
    # held-out split 0: layer 2 wins on splits 1-3 (0.2); splits 1-3: layer 1 (0.3) or 2 (0.2)
    np.testing.assert_array_equal(best.cv_indices, [2, 1, 1, 1])
    assert best.cv_raw == pytest.approx((0.2 + 0 + 0 + 0) / 4)
