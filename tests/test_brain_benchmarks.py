"""Pereira2018 and Blank2014 benchmarks end to end on format-faithful files with simulated responses."""

import hashlib
import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.benchmarks.brain import score_part
from brainalign.config import metric_config
from brainalign.app.run import run
from fixtures_data import blank_stimuli, file_server, fake_blank_data, fake_pereira_data, write_fake_pereira

LINEAR = metric_config(OmegaConf.create({"kind": "linear", "correlation": "batched"}))


def test_pereira_data_itself_scores_one_and_random_features_near_zero(tmp_path):
    data, _ = fake_pereira_data(tmp_path, "384sentences", voxels_per_subject=20, noise=1.0)
    itself = score_part(data, data.responses[None], LINEAR)
    assert itself["ceiled"][0] == 1.0 and itself["unclipped"][0] > 1  # raw 1 / ceiling 0.363: clipped
    assert itself["ceiling"] == pytest.approx(0.36343748)
    noise = np.random.default_rng(0).uniform(size=(1, len(data.stimuli), 25))
    assert abs(score_part(data, noise, LINEAR)["raw"][0]) < 0.05


def test_blank_data_itself_scores_one(tmp_path):
    data, _ = fake_blank_data(tmp_path)
    assert data.responses.shape == (1317, 60)
    part = score_part(data, data.responses[None], LINEAR)
    assert part["ceiled"][0] == 1.0 and part["ceiling"] == pytest.approx(0.21026591)


@pytest.fixture
def served(tmp_path):
    """A fake Pereira file on a real HTTP server on loopback: (url, sha1, hits)."""
    folder = tmp_path / "served"
    folder.mkdir()
    path = write_fake_pereira(folder / "assy_Pereira2018_language.nc", voxels_per_subject=8).path
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    with file_server(folder) as (base, hits):
        yield f"{base}/{path.name}", sha1, hits


def test_pereira_run_downloads_once_and_scores_both_experiments(make_config, tiny_gpt2, tmp_path, served, monkeypatch,
                                                               few_bootstrap_samples):
    url, sha1, hits = served
    monkeypatch.delenv("BRAINALIGN_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    args = [*tiny_gpt2, "dataset=pereira", f"dataset.url={url}", f"dataset.sha1={sha1}"]
    result = run(make_config(*args))
    assert len(hits) == 1
    assert [p["ceiling"] for p in result["parts"]] == pytest.approx([0.35378928, 0.36343748])
    assert result["n_layers"] == 3 and 0 <= result["ceiled"] <= 1
    assert set(result["per_subject"]) == {"018", "199", "215", "288", "289"}
    folder = tmp_path / "out" / "tiny-gpt2" / "pereira" / "linear"
    stored = json.loads((folder / "result.json").read_text())
    assert stored["settings"]["dataset"]["experiments"] == ["243sentences", "384sentences"]
    run(make_config(*args, "force=true"))
    assert len(hits) == 1  # the cached, checksum-verified file is reused
    # what a paired comparison needs is stored beside the result: a result compared with itself is no difference
    from brainalign.app.comparison_files import load_comparison_arrays
    from brainalign.metrics.compare import compare_results

    arrays = load_comparison_arrays(folder, "shuffle")
    table = arrays.replicates()  # a result compared with itself: its bootstrap table once, not twice
    same = compare_results(arrays, arrays, replicates=(table, table))
    assert same.difference == pytest.approx(0.0, abs=1e-12) and same.p == 1.0 and same.method == "dual bootstrap"
    assert arrays.parts[0].design.basis.shape[0] == arrays.parts[0].design.responses.shape[0]


def test_blank_run_from_local_file(make_config, tiny_gpt2, tmp_path):
    stimuli = blank_stimuli()
    stimuli = stimuli[stimuli["sentence_number_in_story"] < 6].reset_index(drop=True)  # every story, shorter
    _, fake = fake_blank_data(tmp_path, stimuli=stimuli)
    result = run(make_config(*tiny_gpt2, "dataset=blank", f"dataset.path={fake.path}",
                             "metric=ridge", "dataset.ceiling=0.1446"))  # a given ceiling: computing the ridge one is slow
    assert result["ceiling_source"]["kind"] == "given" and result["ceiling"] == 0.1446
    assert result["n_layers"] == 3 and result["parts"][0]["n_neuroids"] == 60
    assert result["parts"][0]["n_stimuli"] == len(stimuli)
    assert result["settings"]["metric"]["n_splits"] == 8 and np.isfinite(result["raw"])
