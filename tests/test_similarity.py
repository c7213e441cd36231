"""CKA and RDM (Brain-Score's `cka`, `rdm`): properties, and equality with Brain-Score's own code."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from brainalign.metrics import cka, rdm
from brainalign.metrics.similarity import similarity_splits
from runif import brainscore_python, run_if

REPO = Path(__file__).resolve().parents[1]


def data(seed=0, n=40, d=25, m=9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, n, d))
    Y = X[0, :, :4] @ rng.standard_normal((4, m)) + 0.5 * rng.standard_normal((n, m))
    return X, Y


def test_cka_is_one_for_a_rotated_scaled_copy_and_orders_layers():
    X, Y = data()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((9, 9)))
    same = cka(3.0 * Y @ rotation + 5.0, Y)  # linear CKA ignores rotation, scale and offset
    assert same.raw == pytest.approx(1.0, abs=1e-12)
    scores = cka(X, Y)
    assert scores[0].raw > scores[1].raw + 0.1  # the layer Y was built from wins
    assert len(scores[0].per_split) == 10


def test_rdm_matches_a_direct_spearman_on_each_test_set():
    X, Y = data(2)
    scores = rdm(X, Y)
    for k, (_, test) in enumerate(similarity_splits(len(Y))):
        iu = np.triu_indices(len(test), k=1)
        model, brain = 1 - np.corrcoef(X[1][test]), 1 - np.corrcoef(Y[test])
        assert scores[1].per_split[k] == pytest.approx(spearmanr(model[iu], brain[iu])[0], abs=1e-12)
    assert len(test) == int(np.ceil(0.9 * len(Y)))  # Brain-Score scores the 90 % test side


def test_per_subject_uses_each_subjects_neuroids_alone():
    X, Y = data(3)
    subjects = np.array(["a"] * 4 + ["b"] * 5)
    score = cka(X[0], Y, subjects=subjects)
    assert set(score.per_subject) == {"a", "b"}
    assert score.per_subject["b"] == pytest.approx(cka(X[0], Y[:, 4:]).raw)
    assert score.mad_over_subjects == pytest.approx(abs(score.per_subject["a"] - score.per_subject["b"]) / 2)


def test_nan_responses_are_refused():
    X, Y = data()
    Y[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rdm(X, Y)


@run_if(brainscore=True)
def test_equal_to_brainscore():
    spec = importlib.util.spec_from_file_location("crosscheck_similarity", REPO / "bench" / "crosscheck_similarity.py")
    crosscheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crosscheck)
    X, Y = crosscheck.problem(50, 70, 11, 2, seed=5)  # d > n: the Gram goes through the row basis
    reference = crosscheck.run_reference(brainscore_python(), X, Y)
    for name, metric in crosscheck.OURS.items():
        diff = crosscheck.compare(metric(X, Y), reference[name])
        assert diff["raw"] < 1e-6 and diff["per_split"] < 1e-6, (name, diff)


def test_cka_and_rdm_on_a_brain_benchmark_part_are_raw_scores(tmp_path):
    from omegaconf import OmegaConf

    from brainalign.benchmarks.brain import score_part
    from fixtures_data import fake_pereira_data

    data, _ = fake_pereira_data(tmp_path, "384sentences", voxels_per_subject=20, noise=1.0)
    for kind in ("cka", "rdm"):
        cfg = OmegaConf.create({"kind": kind, "n_splits": 10, "test_size": 0.9, "random_state": 1})
        part = score_part(data, data.responses[None], cfg)
        assert part["ceiling"] == 1.0 and part["raw"][0] == pytest.approx(1.0)  # the data itself
        assert set(part["scores"][0].per_subject) == set(np.unique(data.neuroids["subject"]))


def test_metric_cka_runs_through_the_app(make_config, tiny_gpt2):
    from brainalign.app.run import run

    result = run(make_config(*tiny_gpt2, "dataset=synthetic", "metric=cka"))
    assert result["n_layers"] == 3 and result["ceiling"] == 1.0 and 0 < result["raw"] <= 1
    assert result["settings"]["metric"]["kind"] == "cka"
