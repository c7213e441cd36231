"""Paired comparison of two results (bootstrap over stimuli, permutation over subjects) on synthetic results."""

import numpy as np
import pytest

from brainalign.errors import DataMismatch
from brainalign.app.comparison_files import compare_files, load_comparison_arrays, save_comparison_arrays
from brainalign.metrics.compare import split_predictions
from brainalign.metrics.correlation import pearsonr
from brainalign.metrics.splits import shuffle_splits

N, SUBJECTS, PER_SUBJECT = 150, 6, 15



pytestmark = pytest.mark.usefixtures("few_bootstrap_samples")  # conftest: 20 samples, 5 assignments

def responses(seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((N, 5))
    Y = latent @ rng.standard_normal((5, SUBJECTS * PER_SUBJECT)) + 1.5 * rng.standard_normal((N, SUBJECTS * PER_SUBJECT))
    return latent, Y, np.repeat([f"s{i}" for i in range(SUBJECTS)], PER_SUBJECT)


def result(tmp_path, name, features, Y, subjects, protocol="shuffle", splits=None):
    """Score each layer of `features` [layers, n, d] with the linear metric's predictions; save the arrays."""
    splits = splits or shuffle_splits(N, n_splits=5)
    preds = [split_predictions(x, Y, splits) for x in features]
    r = np.array([[pearsonr(p, Y[test]) for p, (_, test) in zip(layer, splits)] for layer in preds])
    best = int(np.argmax(np.nanmean(np.nanmedian(r, axis=2), axis=1)))
    part = dict(name="part", r=r, subjects=subjects, ceiling=0.8, tests=[t for _, t in splits],
                predictions=preds[best], targets=[Y[t] for _, t in splits])
    return save_comparison_arrays(tmp_path / name, benchmark="demo", protocol=protocol, layers=["a", "b"][:len(features)],
                                  best_layer=best, parts=[part])


def test_a_real_difference_is_detected(tmp_path):
    latent, Y, subjects = responses()
    rng = np.random.default_rng(1)
    good = np.stack([latent + 0.3 * rng.standard_normal(latent.shape), rng.standard_normal((N, 5))])
    poor = np.stack([latent + 3.0 * rng.standard_normal(latent.shape), rng.standard_normal((N, 5))])
    a, b = result(tmp_path, "a", good, Y, subjects), result(tmp_path, "b", poor, Y, subjects)
    c = compare_files(a, b, n_boot=300)
    assert c.difference > 0.1 and c.low > 0 and c.p_bootstrap < 0.05 and c.p_permutation < 0.05
    assert c.n_subjects == SUBJECTS and all(v > 0 for v in c.per_subject.values())
    reverse = compare_files(b, a, n_boot=300)
    assert reverse.difference == pytest.approx(-c.difference) and reverse.high < 0


def test_identical_results_give_p_one_and_an_interval_with_zero(tmp_path):
    latent, Y, subjects = responses(2)
    features = np.stack([latent + np.random.default_rng(3).standard_normal(latent.shape)])
    a, b = result(tmp_path, "a", features, Y, subjects), result(tmp_path, "b", features, Y, subjects)
    c = compare_files(a, b, n_boot=200)
    assert c.difference == 0 and c.low <= 0 <= c.high
    assert c.p_bootstrap == pytest.approx(1.0) and c.p_permutation == pytest.approx(1.0)


def test_arrays_round_trip_and_unpaired_results_are_refused(tmp_path):
    latent, Y, subjects = responses()
    a = result(tmp_path, "a", np.stack([latent]), Y, subjects)
    loaded = load_comparison_arrays(a.parent)
    assert loaded.benchmark == "demo" and loaded.parts[0].r.shape == (1, 5, SUBJECTS * PER_SUBJECT)
    other_protocol = result(tmp_path, "b", np.stack([latent]), Y, subjects, protocol="group")
    with pytest.raises(DataMismatch, match="same benchmark and protocol"):
        compare_files(a, other_protocol)
    other_splits = result(tmp_path, "c", np.stack([latent]), Y, subjects, splits=shuffle_splits(N, 5, random_state=9))
    with pytest.raises(DataMismatch, match="different splits"):
        compare_files(a, other_splits)
    with pytest.raises(DataMismatch, match="without comparison arrays"):
        load_comparison_arrays(tmp_path / "nowhere")


def designed(tmp_path, name, features, Y, subjects, units, splits):
    """A result as brain benchmarks write it now: the best layer's design instead of predictions."""
    from brainalign.metrics.crossval import row_basis
    from brainalign.metrics.dual_bootstrap import Design
    from brainalign.metrics.protocols import score_protocol

    metric = {"kind": "linear", "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}
    r = score_protocol(features, Y, splits, **metric)[0].per_split_neuroid[None]
    part = dict(name="part", r=r, subjects=subjects, ceiling=0.8, tests=[t for _, t in splits],
                design=Design(row_basis(features), Y, units, splits))
    return save_comparison_arrays(tmp_path / name, benchmark="demo", protocol="shuffle", layers=["a"], best_layer=0,
                                  parts=[part], metric=metric)


def test_a_result_with_its_design_gets_the_dual_bootstrap_cached_beside_it(tmp_path, monkeypatch):
    latent, Y, subjects = responses(4)
    units, splits = (np.arange(N) // 5).astype(str), shuffle_splits(N, n_splits=5)
    rng = np.random.default_rng(5)
    a = designed(tmp_path, "a", latent + 0.3 * rng.standard_normal(latent.shape), Y, subjects, units, splits)
    b = designed(tmp_path, "b", latent + 3.0 * rng.standard_normal(latent.shape), Y, subjects, units, splits)
    c = compare_files(a, b)
    assert c.method == "dual bootstrap" and c.note is None and c.n_units == N // 5
    assert c.low < c.difference < c.high and c.low > 0 and c.p < 0.05 and c.p_bootstrap is None
    assert sorted(p.name for p in tmp_path.glob("*/replicates_*.npz")) == ["replicates_shuffle.npz"] * 2
    from brainalign.app import comparison_files

    monkeypatch.setattr(comparison_files.ComparisonArrays, "replicates", lambda self: pytest.fail("not cached"))
    again = compare_files(a, b)
    assert (again.low, again.high, again.p) == (c.low, c.high, c.p)


def test_an_older_result_falls_back_to_the_older_method_and_says_so(tmp_path):
    latent, Y, subjects = responses()
    rng = np.random.default_rng(1)
    a = result(tmp_path, "a", np.stack([latent + 0.3 * rng.standard_normal(latent.shape)]), Y, subjects)
    b = result(tmp_path, "b", np.stack([latent + 3.0 * rng.standard_normal(latent.shape)]), Y, subjects)
    c = compare_files(a, b, n_boot=200)
    assert c.method == "older, uncalibrated" and "uncalibrated" in c.note
    assert c.p == max(c.p_bootstrap, c.p_permutation)


def test_tables_computed_in_worker_processes_are_the_ones_compared(tmp_path, monkeypatch):
    from brainalign.app import comparison_files
    from brainalign.metrics import dual_bootstrap

    latent, Y, subjects = responses(4)
    units, splits = (np.arange(N) // 5).astype(str), shuffle_splits(N, n_splits=5)
    rng = np.random.default_rng(6)
    files = [designed(tmp_path, name, latent + noise * rng.standard_normal(latent.shape), Y, subjects, units, splits)
             for name, noise in (("a", 0.3), ("b", 3.0))]
    older = result(tmp_path, "older", np.stack([latent]), Y, subjects)   # no design: nothing to compute
    comparison_files.cache_tables(files + [older, files[0]], jobs=2)
    assert sorted(p.parent.name for p in tmp_path.glob("*/replicates_*.npz")) == ["a", "b"]
    with np.load(files[0].with_name("replicates_shuffle.npz")) as z:   # the caller's numbers, not the defaults
        assert z["units"].shape[0] == dual_bootstrap.N_BOOT == 20 and len(z["assignments"]) == 5
    monkeypatch.setattr(comparison_files.ComparisonArrays, "replicates", lambda self: pytest.fail("not cached"))
    c = compare_files(*files)
    assert c.method == "dual bootstrap" and c.low > 0
    stamps = [f.with_name("replicates_shuffle.npz").stat().st_mtime_ns for f in files]
    comparison_files.cache_tables(files, jobs=2)   # all cached: nothing computed or written again
    assert [f.with_name("replicates_shuffle.npz").stat().st_mtime_ns for f in files] == stamps
