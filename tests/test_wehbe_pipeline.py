"""The Wehbe2014 pipeline: each step against a literal loop version of the study's code, then recovery
of a planted signal on a simulated release over the real word sequence (and a shuffled control)."""

import numpy as np
import pytest
from scipy.stats import zscore
from sklearn.decomposition import PCA

from brainalign.benchmarks.wehbe import pipeline_settings
from brainalign.errors import ConfigError
from brainalign.metrics.wehbe import (WehbeSettings, aggregate, cv_labels, delay, design, outer_folds, pca_project,
                                      score_layer, word_train_mask)
from fixtures_wehbe import simulated_timing, word_type_features, write_release


@pytest.fixture(scope="module")
def timing(words):
    return simulated_timing(len(words))


def test_pca_matches_sklearn_full():
    rng = np.random.default_rng(0)
    for n, d in [(300, 20), (40, 120)]:  # covariance route and Gram route
        F = rng.standard_normal((n + 30, d)) @ np.diag(np.linspace(3, 0.2, d))
        fit = np.arange(n + 30) < n
        ours = pca_project(F, fit, 10)
        ref = PCA(10, svd_solver="full").fit(F[fit]).transform(F)
        np.testing.assert_allclose(np.abs(ours), np.abs(ref), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-8)  # same signs as svd_flip


def test_cv_labels_and_code_folds():
    labels = cv_labels(1211, 4)
    assert np.bincount(labels).tolist() == [302, 302, 302, 305]
    runs = np.repeat([1, 2, 3, 4], [295, 303, 303, 310])
    folds = outer_folds(runs, WehbeSettings())
    assert [len(f.train) for f in folds] == [909 - 5, 909, 909, 906 - 5]
    assert [len(f.test) for f in folds] == [302, 302 - 10, 302 - 10, 305]
    assert folds[0].train[0] == 302 + 5 and folds[3].train[-1] == 906 - 1 - 5
    assert folds[1].test[0] == 302 + 5 and folds[1].test[-1] == 604 - 1 - 5


def test_text_variant_folds_are_runs_trimmed_at_both_ends():
    runs = np.repeat([1, 2, 3, 4], [295, 303, 303, 310])
    s = WehbeSettings(variant="text")
    assert (s.folds, s.boundary_trim, s.test_end_trim, s.word_split) == ("runs", 0, 10, "exact")
    folds = outer_folds(runs, s)
    assert [len(f.test) for f in folds] == [n - 20 for n in (295, 303, 303, 310)]
    assert [len(f.train) for f in folds] == [1211 - n for n in (295, 303, 303, 310)]
    assert WehbeSettings(variant="text", folds="contiguous").folds == "contiguous"  # one switch at a time


def test_settings_validation():
    with pytest.raises(ConfigError, match="variant"):
        WehbeSettings(variant="paper")
    with pytest.raises(ConfigError, match="unknown"):
        pipeline_settings({"n_fold": 4})
    s = pipeline_settings({"delays": [1, 2], "alphas": [1.0, 10.0]})
    assert s.delays == (1, 2) and s.alphas == (1.0, 10.0)


def code_word_mask(timing, tr_train, skip_words=0):
    """TR_to_word_CV_ind, written out as the study's loop."""
    time, runs, time_words = timing.tr_times, timing.runs, timing.word_times[skip_words:]
    out = np.zeros(len(time_words), dtype=bool)
    for i in range(len(time_words)):
        wid = np.where(time_words[i] > time)[0][-1]
        if wid <= len(runs) - 15:
            offset = runs[wid] * 20 + (runs[wid] - 1) * 15
            if tr_train[wid - offset - 1] == 1:
                out[i] = True
    return out


def code_design(features, timing, word_fit, skip_words=20):
    """get_nlp_features_fixed_length + prepare_fmri_features, written out as the study's loops."""
    train, test = features[skip_words:][word_fit], features[skip_words:][~word_fit]
    pca = PCA(n_components=10, svd_solver="full").fit(train)
    time, runs, time_words = timing.tr_times, timing.runs, timing.word_times[skip_words:]
    words_id = np.array([np.where(t > time)[0][-1] for t in time_words])
    all_features = np.zeros((len(time_words), 10))
    all_features[word_fit], all_features[~word_fit] = pca.transform(train), pca.transform(test)
    tmp = np.zeros((len(time), 10))
    for i in range(len(time)):
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if not (words_id == i).any() else _nothing():
            tmp[i] = np.mean(all_features[(words_id <= i) * (words_id > i - 1)], 0)
    tmp = delay(tmp, np.arange(1, 5))
    return np.nan_to_num(np.vstack([zscore(tmp[runs == r][20:-15]) for r in range(1, 5)]))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_word_split_and_design_match_the_code(words, timing):
    s = WehbeSettings()
    folds = outer_folds(timing.kept_runs, s)
    features = word_type_features(words, dim=16)
    for fold in folds[:2]:
        ours = word_train_mask(timing, fold.train_mask, "code")
        np.testing.assert_array_equal(ours[20:], code_word_mask(timing, fold.train_mask, skip_words=20))
        X = design(features, timing, ours, s)
        ref = code_design(features, timing, ours[20:])
        np.testing.assert_allclose(X, ref, rtol=1e-6, atol=1e-8)
    exact = word_train_mask(timing, folds[1].train_mask, "exact")
    # they differ by the code's one-TR shift and for words in trimmed TRs (at most ~85 words a run)
    assert 0 < (exact != word_train_mask(timing, folds[1].train_mask, "code")).sum() < 4 * 85


def test_recovers_planted_signal_and_shuffled_control_is_zero(words, tmp_path):
    from brainalign.datasets.wehbe import load_release

    data = load_release(write_release(tmp_path / "release", words, noise=1.5, n_voxels=12, n_language=8))
    features = word_type_features(words)
    expected = 1 / np.sqrt(1 + 1.5 ** 2)  # the r of the noiseless signal with the data
    per_fold = []
    for variant in ("code", "text"):
        scores = score_layer(features, data.responses, data.timing, WehbeSettings(variant=variant))
        agg = aggregate(scores, data.subjects)
        assert 0.8 * expected < agg.raw <= expected + 0.02, variant
        assert set(agg.per_subject) == set("FHIJKLMN") and agg.mad < 0.05
        per_fold.append(agg.per_fold)
    shuffled = features[np.random.default_rng(0).permutation(len(features))]
    control = aggregate(score_layer(shuffled, data.responses, data.timing, WehbeSettings()), data.subjects)
    assert abs(control.raw) < 0.05
    assert np.all(per_fold[0] > control.per_fold + 0.3)  # in every fold


def test_non_language_voxels_carry_no_signal(words, tmp_path):
    from brainalign.datasets.wehbe import load_release, load_rois

    root = write_release(tmp_path / "release", words, subjects=("F", "H"), noise=1.0, n_voxels=10, n_language=5)
    data = load_release(root, subjects=("F", "H"), roi=None)
    scores = score_layer(word_type_features(words), data.responses, data.timing, WehbeSettings(r_over="concatenated"))
    r = scores.per_voxel()
    assert scores.r.shape == (1, 20)
    mask = np.concatenate([load_rois(root / "HP_subj_roi_inds.npy")[s]["all"] for s in "FH"])
    assert r[mask].min() > 0.4 and np.abs(r[~mask]).max() < 0.15
