"""The brain-to-brain reference (model=brain-to-brain): each subject predicted from the other subjects."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from brainalign.app.run import run
from brainalign.benchmarks.brain_reference import other_subjects_scores
from brainalign.datasets.brain import BrainData
from brainalign.datasets.synthetic import plant_responses, synthetic_stimuli
from brainalign.errors import ConfigError
from brainalign.models.baselines import baseline_values
from fixtures_data import write_fake_pereira

RIDGE = OmegaConf.create({"name": "ridge", "kind": "ridge", "cv": "shuffle", "alphas": [0.1, 1.0, 10.0, 100.0, 1000.0]})


def brain_data(responses, neuroids):
    return BrainData("sim", synthetic_stimuli(20, 5, 0), responses, neuroids, group_by="passage")


@pytest.mark.parametrize("seed", [0, 1])
def test_shared_signal_scores_above_pure_noise(seed):
    rng = np.random.default_rng(seed)
    source = rng.standard_normal((100, 8))   # what every subject's voxels share
    planted, neuroids, _ = plant_responses(source, n_subjects=4, voxels_per_subject=12, noise=1.0, seed=seed)
    noise = rng.standard_normal(planted.shape)   # nothing shared; the target's own columns would give r ~ 1
    shared = other_subjects_scores(planted[None], brain_data(planted, neuroids), RIDGE)[0]
    alone = other_subjects_scores(noise[None], brain_data(noise, neuroids), RIDGE)[0]
    assert shared.raw > 0.4 and abs(alone.raw) < 0.1
    assert set(shared.per_subject) == {"sim0", "sim1", "sim2", "sim3"}
    assert shared.per_split_neuroid.shape[1] == planted.shape[1] and np.isfinite(shared.per_split_neuroid).all()


def test_one_subject_and_pooled_metrics_are_refused():
    planted, neuroids, _ = plant_responses(np.random.default_rng(0).standard_normal((100, 4)), 1, 5)
    with pytest.raises(ConfigError, match="has 1 subject; it needs two at least"):
        other_subjects_scores(planted[None], brain_data(planted, neuroids), RIDGE)
    with pytest.raises(ConfigError, match="has no features of its own"):
        baseline_values("brain_to_brain", [["A sentence."]])


def test_synthetic_reference_run_knows_its_shared_signal(make_config, tmp_path):
    base = ("model=brain-to-brain", "metric=ridge", "dataset.n_passages=16", "dataset.voxels_per_subject=20")
    planted = run(make_config(*base))
    noise = run(make_config(*base, "dataset.noise=100", f"results_dir={tmp_path / 'noise'}"))
    assert planted["best_layer"] == "other-subjects" and planted["model"]["name"] == "brain-to-brain"
    assert planted["raw"] > noise["raw"] + 0.2 and abs(noise["raw"]) < 0.1
    assert len(planted["per_subject"]) == 4
    assert list((tmp_path / "out" / "brain-to-brain").glob("synthetic-subset-*/ridge/result.json"))
    with pytest.raises(ConfigError, match="scores each neuroid"):
        run(make_config(*base[:1], "metric=cka", "dataset.n_passages=16"))


def test_pereira_reference(make_config, tmp_path, shared_data):
    path = write_fake_pereira(tmp_path / "assy.nc", voxels_per_subject=5).path
    result = run(make_config("model=brain-to-brain", "dataset=pereira_243", f"dataset.path={path}", "metric=ridge",
                             "metric.cv=shuffle"))
    assert result["n_layers"] == 1 and np.isfinite(result["raw"])   # the fake voxels share nothing: raw near 0
    assert len(result["per_subject"]) >= 3 and abs(result["raw"]) < 0.2


def test_the_analysis_shows_the_reference(make_config, tmp_path):
    from brainalign.analysis import run as analyze

    for model in ("brain-to-brain", "position"):
        run(make_config(f"model={model}", "metric=ridge", "dataset.n_passages=16", "dataset.voxels_per_subject=10"))
    out = analyze(tmp_path / "out", tmp_path / "analysis", figures=False)
    report = out["report"].read_text()
    section = report.split("## Brain-to-brain reference")[1].split("##")[0]
    assert f"{out['alignment'].loc['brain-to-brain'].iloc[0]:.3f}" in section and "position" not in section
    assert (tmp_path / "analysis" / "size_controls.csv").exists()
