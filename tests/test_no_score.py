"""A result without a score (raw = null: a voxelwise run with no FDR-significant voxel) through the whole
analysis: a note says so, every table treats it as a score that does not exist, nothing stops (issue 27)."""

import copy
import math

import pandas as pd
import pytest

from brainalign.analysis import collect, run
from brainalign.app.results import write
from fixtures_claims import PERTURB, _result, models, write_zoo

NOTE = "lebel2023: no raw score for {} (no voxel passed FDR q < 0.05)"
VARIANTS = ("", "-chat-user", "-rev-step100", "-untrained-s0")   # the model folders write_without_score fills


def _named(names) -> str:
    return ", ".join(sorted(f"{n}{v}" for n in names for v in VARIANTS))


def _voxelwise_without_score(model: dict) -> dict:
    """What a LeBel2023 run stores when no voxel passes FDR: per-layer means, counts, no summary score."""
    r = _result(model, {"name": "voxelwise-ridge", "kind": "voxelwise-ridge", "fdr_q": 0.05, "cv": ["stories"]}, 0.02)
    r.update(dataset="lebel2023", benchmark="lebel2023", synthetic=False, raw=None, ceiled=None, ceiling=None,
             per_subject={"UTS01": None, "UTS02": None},
             voxel_summary={"n_voxels": 600, "n_significant": 0, "fdr_q": 0.05, "per_subject": {}})
    r["settings"]["dataset"] = {"name": "lebel2023"}
    return r


def write_without_score(results, names):
    """A score-less LeBel2023 result for each model named, its untrained seed, a checkpoint, a chat-template
    and a perturbed run of it."""
    for m in (m for m in models() if m["name"] in names):
        name, r = m["name"], _voxelwise_without_score(m)
        write(results / name / "lebel2023" / "voxelwise-ridge", r)
        variants = {f"{name}-untrained-s0": dict(config_name=name, init="random", init_seed=0),
                    f"{name}-rev-step100": dict(config_name=name, init="pretrained", revision="step100"),
                    f"{name}-chat-user": dict(name=name, chat_template="user")}
        for folder, meta in variants.items():
            v = copy.deepcopy(r)
            v["model"].update({"name": folder, **meta})
            write(results / folder / "lebel2023" / "voxelwise-ridge", v)
        p = copy.deepcopy(r)
        p["perturb"] = {"name": PERTURB, "seed": 0}
        p["settings"]["dataset"].update(perturb=PERTURB, perturb_seed=0)
        write(results / name / f"lebel2023-perturb-{PERTURB}-s0" / "voxelwise-ridge", p)


def test_only_results_without_a_score_give_a_report_with_a_note(tmp_path):
    results, conf = write_zoo(tmp_path, "genuine")
    pair = ["sim-v0", "sim-it0"]
    only = tmp_path / "only"
    write_without_score(only, pair)
    out = run(only, tmp_path / "analysis", conf)
    report = out["report"].read_text()
    assert NOTE.format(_named(pair)) in report
    assert "lebel2023-perturb-scramble-words-s0: no raw score for sim-it0, sim-v0" in report
    assert out["alignment"]["lebel2023"].isna().all() and out["pairs"].empty
    tables = {name: pd.read_csv(out["out_dir"] / f"{name}.csv") for name in
              ("size_controls", "untrained", "chat_template", "perturbations", "perturbation_pairs", "claims_tuning")}
    assert tables["size_controls"].empty and tables["untrained"].empty and tables["perturbation_pairs"].empty
    assert tables["chat_template"][["none", "user", "difference"]].isna().all().all()
    assert tables["perturbations"][["intact", "perturbed", "drop"]].isna().all().all()
    assert (tables["claims_tuning"]["note"] == "no pairs with both scores").all()


def test_a_column_without_scores_changes_no_other_number(tmp_path):
    results, conf = write_zoo(tmp_path, "genuine")
    alone = run(results, tmp_path / "alone", conf, mixed="group", figures=False)
    write_without_score(results, [m["name"] for m in models()])
    both = run(results, tmp_path / "both", conf, mixed="group", figures=False)
    assert NOTE.format(_named(m["name"] for m in models())) in both["report"].read_text()
    assert both["alignment"]["lebel2023"].isna().all()
    synthetic = [c for c in alone["alignment"].columns if c.startswith("synthetic")]   # a real column: no average
    pd.testing.assert_frame_equal(alone["alignment"][synthetic], both["alignment"][synthetic])
    for name in ("size_controls", "claims_size", "untrained", "pair_summary"):
        before, after = (pd.read_csv(o["out_dir"] / f"{name}.csv", dtype=str, keep_default_na=False)
                         for o in (alone, both))   # the numbers as written
        column = "measure" if "measure" in after else "dataset"
        before, after = (t[t[column].astype(str).str.startswith("synthetic")].reset_index(drop=True)
                         for t in (before, after))
        assert len(before) >= 4, name
        pd.testing.assert_frame_equal(before, after, obj=name)


def test_a_missing_score_is_nan_in_the_table_and_a_real_score_is_kept(tmp_path):
    write_without_score(tmp_path, ["sim-v1"])
    r = _voxelwise_without_score(models()[0])
    r.update(raw=0.31, ceiled=0.6, ceiling=0.52, voxel_summary={"n_voxels": 600, "n_significant": 12, "fdr_q": 0.05})
    write(tmp_path / "sim-v0" / "lebel2023" / "voxelwise-ridge", r)
    r.update(model={**r["model"], "name": "sim-v2"}, raw=0.2, ceiled=0.5, ceiling=0.4)   # its own voxels' ceiling
    write(tmp_path / "sim-v2" / "lebel2023" / "voxelwise-ridge", r)
    col = collect(tmp_path)   # one column: a voxelwise ceiling is the model's own, not the data's
    value = col.table()["lebel2023"]
    assert value["sim-v0"] == pytest.approx(0.31) and math.isnan(value["sim-v1"]) and value.dtype == float
    assert value["sim-v2"] == pytest.approx(0.2)
    assert [w for w in col.warnings if "no raw score" in w] == [
        NOTE.format(_named(["sim-v1"])) + "; a score that does not exist, not 0: left out of every number that needs it",
        f"lebel2023-perturb-{PERTURB}-s0: no raw score for sim-v1 (no voxel passed FDR q < 0.05); a score that does "
        "not exist, not 0: left out of every number that needs it"]
    assert collect(tmp_path, score="ceiled").table()["lebel2023"]["sim-v0"] == pytest.approx(0.6)


@pytest.mark.slow   # a tiny model on generated LeBel2023 files through the app, then task=analyze (~15 s)
def test_a_run_with_no_significant_voxel_through_the_app_and_task_analyze(make_config, tiny_gpt2, tmp_path, capsys):
    import numpy as np

    from brainalign.app.run import run as app
    from runif import require
    from voxel_fixtures import make_lebel, write_mask

    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    mask = np.zeros((6, 8, 8), bool)
    mask[1:5, 2:7, 2:7] = True
    write_mask(tmp_path / "pycortex-db", "UTS01", mask)
    root = make_lebel(tmp_path / "ds003020", n_voxels=int(mask.sum()), n_planted=0, seconds=120)   # noise only
    result = app(make_config(*tiny_gpt2, "dataset=lebel2023", f"dataset.path={root}", "dataset.subjects=[UTS01]",
                             f"dataset.pycortex_db={tmp_path / 'pycortex-db'}", "dataset.context_words=10"))
    assert result["raw"] is None and result["voxel_summary"]["n_significant"] == 0
    assert result["per_subject"] == {"UTS01": None}
    folder = next((tmp_path / "out" / "tiny-gpt2").glob("lebel2023*")) / "voxelwise-ridge"
    assert all((folder / f"map-{k}-UTS01.png").stat().st_size > 10_000 for k in ("r", "best-layer"))
    out = app(make_config("task=analyze"))
    assert "no raw score for tiny-gpt2 (no voxel passed FDR q < 0.05)" in out["report"].read_text()
    assert out["alignment"].isna().all().all()
