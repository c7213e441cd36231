"""The analysis on small hand-made result folders: error bars, bad input (mixed settings, ceilings,
duplicates, unpaired models, missing properties, failures), properties, the entry points, W&B."""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.analysis import MixedResults, collect, run

SETTINGS = {"metric": {"name": "linear", "kind": "linear", "correlation": "batched", "n_splits": 10},
            "dataset": {"name": "pereira", "benchmark": "pereira"}}
MODELS = {  # name: (family, instruction_tuned, pair, params)
    "t5-small": ("t5", False, None, 77e6), "flan-t5-small": ("t5", True, "t5-small", 77e6),
    "t5-base": ("t5", False, None, 250e6), "flan-t5-base": ("t5", True, "t5-base", 250e6),
    "t5-xl": ("t5", False, None, 3e9), "flan-t5-xl": ("t5", True, "t5-xl", 3e9),
}


def write(root: Path, model, dataset, raw, *, metric="linear", ceiling=0.359, per_subject=None, settings=None,
          synthetic=False, meta=None, per_layer=None, best_layer="encoder.block.3"):
    family, it, pair, params = MODELS.get(model, ("llama", True, None, 1e9))
    m = {"name": model, "family": family, "instruction_tuned": it, "pair": pair, "params": params}
    m.update(meta or {})
    result = {"model": m, "dataset": dataset, "benchmark": dataset, "metric": metric,
              "settings": settings or SETTINGS, "raw": raw, "ceiled": min(raw / ceiling, 1), "ceiling": ceiling,
              "best_layer": best_layer, "best_layer_index": 3, "raw_cv": raw, "n_layers": 4,
              "per_layer": per_layer or [], "per_subject": per_subject or {}, "synthetic": synthetic}
    folder = root / model / dataset / metric
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(result))
    return folder


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    scores = {"t5-small": (0.17, 0.07, 0.23), "flan-t5-small": (0.20, 0.08, 0.05), "t5-base": (0.22, 0.074, 0.33),
              "flan-t5-base": (0.23, 0.076, 0.15), "t5-xl": (0.28, 0.072, 0.22), "flan-t5-xl": (0.31, 0.075, 0.11)}
    for model, (p, w, f) in scores.items():
        write(root, model, "pereira", p, per_subject={"s1": p - 0.02, "s2": p, "s3": p + 0.04})
        write(root, model, "wehbe", w, ceiling=0.104, settings={"metric": {"name": "ridge"}, "dataset": {"name": "wehbe"}},
              metric="ridge")
        write(root, model, "futrell", f, ceiling=0.858, settings={"metric": {"name": "pearsonr"}}, metric="pearsonr")
    return root


def test_error_bars_are_the_mad_over_participants(results):
    col = collect(results)
    row = col.rows[(col.rows["model"] == "t5-small") & (col.rows["dataset"] == "pereira")].iloc[0]
    assert row["n_subjects"] == 3 and row["mad"] == pytest.approx(0.02)          # |-0.02|, 0, 0.04 -> 0.02
    ceiled = collect(results, score="ceiled")
    row = ceiled.rows[(ceiled.rows["model"] == "t5-small") & (ceiled.rows["dataset"] == "pereira")].iloc[0]
    assert row["value"] == pytest.approx(0.17 / 0.359) and row["mad"] == pytest.approx(0.02 / 0.359)
    wehbe = col.rows[(col.rows["model"] == "t5-small") & (col.rows["dataset"] == "wehbe")].iloc[0]
    assert pd.isna(wehbe["mad"]) and wehbe["n_subjects"] == 0                    # no per-subject scores: n/a
    assert dict(col.datasets["kind"]) == {"pereira": "brain", "wehbe": "brain", "futrell": "behavior"}


def test_report_on_a_small_zoo(results, tmp_path):
    out = run(results, tmp_path / "an", figures=False)
    assert list(out["alignment"].columns) == ["pereira", "wehbe", "futrell", "brain_average"]
    s = out["pair_summary"]
    assert set(s[s["family"] == "all"]["measure"]) == {"pereira", "wehbe", "brain_average", "futrell"}
    assert (s["n_pairs"] == 3).all()
    text = out["report"].read_text()
    assert "## Instruction-tuned vs vanilla pair" in text and "alignment.png" not in text
    c = out["correlations"]
    row = c[(c["measure"] == "brain_average") & (c["property"] == "log10_params") & (c["model_set"] == "all")].iloc[0]
    assert row["n"] == 6 and row["models"].count(",") == 5


def test_other_metric_settings_are_refused_or_kept_apart(results, tmp_path):
    other = {**SETTINGS, "metric": {**SETTINGS["metric"], "correlation": "scipy"}}
    write(results, "t5-small", "pereira", 0.18, metric="linear-2023", settings=other)
    with pytest.raises(MixedResults, match="metric.correlation") as err:
        collect(results)
    assert "mixed=group" in str(err.value)
    col = collect(results, mixed="group")
    pereira = [d for d in col.datasets.index if d.startswith("pereira")]
    assert len(pereira) == 2 and all("@" in d for d in pereira)
    assert any("kept apart" in w for w in col.warnings)
    out = run(results, tmp_path / "an", mixed="group", figures=False, brain_datasets=[pereira[0], "wehbe"])
    assert set(pereira) <= set(out["alignment"].columns)


def test_other_ceilings_are_refused(results):
    write(results, "t5-small", "pereira", 0.17, ceiling=0.5, metric="linear-b")
    with pytest.raises(MixedResults, match="ceiling"):
        collect(results)


def test_two_different_results_for_one_run_are_refused(results):
    folder = results / "old" / "t5-small" / "pereira" / "linear"
    folder.mkdir(parents=True)
    src = json.loads((results / "t5-small" / "pereira" / "linear" / "result.json").read_text())
    (folder / "result.json").write_text(json.dumps(src))
    col = collect(results)   # an identical copy: one kept, said so
    assert any("identical results" in w for w in col.warnings)
    (folder / "result.json").write_text(json.dumps({**src, "raw": 0.5}))
    with pytest.raises(MixedResults, match="different scores"):
        collect(results)


def test_unpaired_models_and_missing_properties_are_reported(results, tmp_path):
    write(results, "my-tuned-model", "pereira", 0.3)                             # IT, no pair, no config
    write(results, "flan-t5-large", "pereira", 0.31, meta={"family": "t5", "instruction_tuned": True,
                                                            "pair": "t5-large", "params": 8e8})
    out = run(results, tmp_path / "an", figures=False)
    unpaired = out["unpaired"].set_index("model")
    assert "no vanilla pair" in unpaired.loc["my-tuned-model", "reason"]
    assert "no results for its pair t5-large" in unpaired.loc["flan-t5-large", "reason"]
    c = out["correlations"]
    mmlu = c[(c["measure"] == "pereira") & (c["property"] == "mmlu") & (c["model_set"] == "instruction-tuned")].iloc[0]
    assert "my-tuned-model" in mmlu["missing_property"] and mmlu["n"] == 4   # flan-t5-small/base/xl/large have it
    size = c[(c["measure"] == "pereira") & (c["property"] == "log10_params") & (c["model_set"] == "all")].iloc[0]
    assert "my-tuned-model" in size["models"]                                 # its size came from its result
    text = out["report"].read_text()
    assert "my-tuned-model" in text and "no vanilla pair" in text
    assert out["alignment"].loc["my-tuned-model"].isna()["brain_average"]     # lacks wehbe: no average


def test_failed_runs_are_listed(results, tmp_path):
    folder = results / "t5-xxl" / "pereira" / "linear"
    folder.mkdir(parents=True)
    (folder / "failed.json").write_text(json.dumps({"error": "ModelUnavailable", "message": "no weights here"}))
    out = run(results, tmp_path / "an", figures=False)
    failures = pd.read_csv(tmp_path / "an" / "failures.csv")
    assert failures.iloc[0][["model", "dataset", "metric", "error"]].tolist() == ["t5-xxl", "pereira", "linear",
                                                                                  "ModelUnavailable"]
    assert "## Failed runs" in out["report"].read_text()


def test_synthetic_results_are_flagged(results):
    write(results, "t5-small", "synthetic", 0.5, synthetic=True, settings={"dataset": {"name": "synthetic"}})
    col = collect(results)
    assert any(w.startswith("SYNTHETIC") for w in col.warnings)


def test_study_layer_option(results):
    write(results, "t5-small", "pereira", 0.30, best_layer="decoder.block.1",
          per_layer=[{"layer": "decoder.block.1", "raw": 0.30, "ceiled": 0.8},
                     {"layer": "decoder.block.6", "raw": 0.21, "ceiled": 0.6}])
    col = collect(results, layer="study", model_configs={"t5-small": {"study_layer": "decoder.block.6"}})
    row = col.rows[(col.rows["model"] == "t5-small") & (col.rows["dataset"] == "pereira")].iloc[0]
    assert row["value"] == pytest.approx(0.21) and row["layer"] == "decoder.block.6" and pd.isna(row["mad"])
    assert any("layer=study" in w for w in col.warnings)


def test_properties_file_overrides_the_configs(results, tmp_path):
    props = tmp_path / "props.csv"
    props.write_text("model,mmlu,bbh_world_knowledge\nflan-t5-small,0.9,0.5\nflan-t5-base,0.8,0.6\nflan-t5-xl,0.7,0.4\n")
    out = run(results, tmp_path / "an", properties=props, figures=False)
    assert out["properties"].loc["flan-t5-small", "mmlu"] == 0.9
    c = out["correlations"]
    wk = c[(c["measure"] == "pereira") & (c["property"] == "bbh_world_knowledge") & (c["model_set"] == "instruction-tuned")]
    assert wk.iloc[0]["n"] == 3 and "benchmark categories" in wk.iloc[0]["fdr_family"]
    bad = tmp_path / "bad.csv"
    bad.write_text("model,iq\nflan-t5-small,1\n")
    from brainalign.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown properties"):
        run(results, tmp_path / "an2", properties=bad, figures=False)


def test_lm_eval_hook(monkeypatch, tmp_path, capsys):
    from brainalign.analysis import properties as P
    from brainalign.errors import DataUnavailable

    monkeypatch.setitem(sys.modules, "lm_eval", None)
    with pytest.raises(DataUnavailable, match="pip install lm-eval"):
        P.lm_eval_properties({"name": "x", "hf_id": "org/x"})
    # the command: one line, exit 2
    assert P.main(["--models", "gpt2", "--out", str(tmp_path / "p.json")]) == 2
    assert capsys.readouterr().err == ("[brainalign] error: computing MMLU/BBH needs EleutherAI's harness: "
                                       "pip install lm-eval\n")
    bbh = {}
    for group, tasks in P.BBH_TASK_GROUPS.items():
        for t in tasks:
            names = {"logical_deduction": ["logical_deduction_three_objects", "logical_deduction_five_objects"],
                     "tracking_shuffled_objects": ["tracking_shuffled_objects_three_objects"]}.get(t, [t])
            for n in names:
                bbh[f"bbh_fewshot_{n}"] = {"exact_match,none": 0.5 if group == "bbh_world_knowledge" else 0.25}
    calls = []

    def simple_evaluate(**kw):
        calls.append(kw)
        if kw["tasks"] == ["mmlu"]:
            return {"results": {"mmlu": {"acc,none": 0.4}, **{c: {"acc,none": 0.3} for c in P.MMLU_CATEGORIES}}}
        return {"results": bbh}

    monkeypatch.setitem(sys.modules, "lm_eval", types.SimpleNamespace(simple_evaluate=simple_evaluate))
    got = P.lm_eval_properties({"name": "flan-t5-xl", "hf_id": "google/flan-t5-xl", "dtype": "bfloat16",
                                "device_map": "auto"}, device="cpu")
    assert [c["num_fewshot"] for c in calls] == [5, 3] and calls[1]["tasks"] == ["bbh_fewshot"]
    assert calls[0]["model_args"] == "pretrained=google/flan-t5-xl,dtype=bfloat16,parallelize=True"
    assert got["mmlu"] == 0.4 and got["mmlu_stem"] == 0.3
    assert got["bbh_world_knowledge"] == 0.5 and got["bbh_algorithmic"] == 0.25
    assert got["bbh"] == pytest.approx((5 * 0.5 + 18 * 0.25) / 23)   # the mean over the 23 tasks


def test_cli_and_errors(results, tmp_path, capsys):
    from brainalign.analysis.__main__ import main

    assert main(["--results", str(results), "--out", str(tmp_path / "cli"), "--exclude", "t5-xl", "flan-t5-xl",
                 "--no-figures"]) == 0
    assert (tmp_path / "cli" / "report.md").exists()
    assert "Excluded on request: flan-t5-xl, t5-xl" in (tmp_path / "cli" / "report.md").read_text()
    assert main(["--results", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("")
    assert main(["--results", str(tmp_path / "a-file")]) == 2
    assert capsys.readouterr().err == (
        f"[brainalign] error: results folder {tmp_path / 'a-file'} is a file, not a folder\n")


def test_run_from_a_hydra_config(results, tmp_path):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"task": "analyze", "results_dir": str(results),
                            "analysis": {"out": str(tmp_path / "from-cfg"), "figures": False, "score": "ceiled"},
                            "tracking": {"mode": "disabled"}})
    out = run(cfg)
    assert out["collected"].score == "ceiled" and (tmp_path / "from-cfg" / "report.md").exists()


@pytest.mark.slow  # W&B start-up: ~4 s
def test_logged_to_wandb_offline(results, tmp_path):
    run(results, tmp_path / "an", figures=True, tracking={"mode": "offline", "project": "brainalign", "group": "g"})
    runs = list((tmp_path / "an" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    from wandb_records import offline_runs

    an, = offline_runs(tmp_path / "an")
    used = sorted(a.name for a in an.artifacts if a.use_after_commit)   # lineage: the result artifacts it read
    assert len(used) == 18 and "result-flan-t5-xl-pereira-linear" in used
    assert all(a.type == "result" for a in an.artifacts if a.use_after_commit)
    assert [a.type for a in an.artifacts if a.type not in ("run_table", "result")] == ["analysis"]


def test_both_entry_points_write_beside_the_results_and_never_overwrite(results, make_config, capsys):
    """`task=analyze results=X` and `python -m brainalign.analysis --results X` write X/analysis; a second
    analysis there needs force; the analysis' own failed.json is never read as a failed run."""
    from brainalign.analysis.__main__ import main
    from brainalign.errors import ConfigError

    assert main(["--results", str(results), "--no-figures"]) == 0
    report = results / "analysis" / "report.md"
    first = report.read_text()
    (results / "analysis" / "failed.json").write_text(json.dumps({"error": "ConfigError", "message": "old"}))
    assert main(["--results", str(results), "--no-figures"]) == 2
    assert "exists from an earlier analysis" in capsys.readouterr().err and report.read_text() == first
    with pytest.raises(ConfigError, match="force=true"):
        run(make_config("task=analyze", f"results={results}", "analysis.figures=false"))
    out = run(make_config("task=analyze", f"results={results}", "analysis.figures=false", "force=true"))
    assert out["report"] == report and out["collected"].failures.empty


def test_multi_line_messages_stay_in_one_table_row(results, tmp_path):
    failed = results / "gpt2" / "pereira" / "linear"
    failed.mkdir(parents=True)
    (failed / "failed.json").write_text(json.dumps({"error": "X", "message": "first line\nsecond | line\n\nthird"}))
    text = run(results, tmp_path / "an", figures=False)["report"].read_text()
    row = [line for line in text.splitlines() if "gpt2" in line and "first line" in line]
    assert row == [line for line in row if "second / line third" in line] and len(row) == 1


def test_subset_results_are_never_beside_full_ones(results, tmp_path):
    subset = {"stories": [1, 2]}
    settings = {"metric": {"name": "pearsonr"}, "dataset": {"name": "futrell", "stories": [1, 2]}}
    folder = write(results, "t5-small", "futrell", 0.3, ceiling=0.858, settings=settings, metric="pearsonr")
    data = json.loads((folder / "result.json").read_text())
    (folder / "result.json").write_text(json.dumps({**data, "subset": subset}))
    with pytest.raises(MixedResults, match="analysis.mixed=group"):
        collect(results)
    col = collect(results, mixed="group")
    assert any(label.startswith("futrell-subset@") for label in col.datasets.index)


def test_model_configs_are_read_again_when_a_file_changes(tmp_path):
    """load_model_configs keeps what it read in memory; an edited or added file is seen."""
    import os

    from brainalign.analysis.properties import MODEL_CONF_DIR, load_model_configs

    conf = tmp_path / "model"
    conf.mkdir()
    yaml = (MODEL_CONF_DIR / "flan-t5-xl.yaml").read_text()
    (conf / "flan-t5-xl.yaml").write_text(yaml)
    first = load_model_configs(conf)
    first["flan-t5-xl"]["params"] = -1          # the caller's copy: the next read is unchanged
    assert load_model_configs(conf)["flan-t5-xl"]["params"] != -1
    path = conf / "flan-t5-xl.yaml"
    path.write_text(yaml.replace("name: flan-t5-xl", "name: flan-t5-xl-edited"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert list(load_model_configs(conf)) == ["flan-t5-xl-edited"]
    (conf / "t5-xl.yaml").write_text((MODEL_CONF_DIR / "t5-xl.yaml").read_text())
    assert sorted(load_model_configs(conf)) == ["flan-t5-xl-edited", "t5-xl"]


def test_unusable_results_are_listed_on_the_console_with_their_reason(results, tmp_path, capsys):
    truncated = write(results, "t5-large", "pereira", 0.25) / "result.json"
    truncated.write_text(truncated.read_text()[:40])
    high = write(results, "flan-t5-large", "pereira", 0.25) / "result.json"
    high.write_text(high.read_text().replace('"raw": 0.25', '"raw": "high"'))
    layers = write(results, "t5-3b", "pereira", 0.2, per_layer=[{"layer": "a", "raw": "x", "ceiled": None}])
    out = run(results, tmp_path / "an", figures=False)
    printed = capsys.readouterr().out
    assert f"skipped {truncated}: unreadable (JSONDecodeError" in printed
    assert f"skipped {high}: raw='high' is not a number" in printed
    assert f"skipped {layers / 'result.json'}: per_layer is not a list" in printed
    assert "(3 skipped, listed above)" in printed
    assert not {"t5-large", "flan-t5-large", "t5-3b"} & set(out["collected"].rows["model"])
    assert pd.read_csv(tmp_path / "an" / "alignment.csv")["raw"].map(type).eq(float).all()
    assert "skipped " in out["report"].read_text()
    write(results, "t5-small", "pereira", 0.5, metric="ridge", settings={"metric": {"name": "ridge"}})
    with pytest.raises(MixedResults):   # listed even when the analysis then refuses
        run(results, tmp_path / "an2", figures=False)
    assert f"skipped {high}: raw='high' is not a number" in capsys.readouterr().out


def test_protocol_table_lists_what_it_skips_and_prints_a_missing_ceiled_as_na(tmp_path, capsys):
    from brainalign.analysis import protocols

    folder = write(tmp_path, "t5-small", "pereira", 0.2)
    result = json.loads((folder / "result.json").read_text())
    result["protocols"] = {"shuffle": {"raw": 0.2, "ceiled": None}, "group": {"raw": 0.1, "ceiled": None}}
    (folder / "result.json").write_text(json.dumps(result))
    broken = write(tmp_path, "t5-base", "pereira", 0.2) / "result.json"
    broken.write_text("{")
    protocols.main([str(tmp_path), "--score", "ceiled"])
    printed = capsys.readouterr().out
    assert f"skipped {broken}: unreadable" in printed
    assert "t5-small" in printed and "n/a" in printed
    with pytest.raises(SystemExit, match="does not exist"):
        protocols.main([str(tmp_path / "nothing")])


def test_a_result_whose_per_subject_is_not_scores_is_one_line(results, tmp_path):
    from brainalign.analysis import run
    from brainalign.errors import DataMismatch

    path = next(results.rglob("result.json"))
    for bad, what in (("high", "a str"), ({"s1": "high"}, "'high' for s1")):
        r = json.loads(path.read_text())
        r["per_subject"] = bad
        path.write_text(json.dumps(r))
        with pytest.raises(DataMismatch) as e:
            run(results, tmp_path / "an", figures=False, force=True)
        assert str(e.value) == f"{path}: per_subject holds {what}, not {{subject: score}}; fix or remove the file"


def _subset_futrell(results, models):
    """A 300-word Futrell run beside each model's full one (its own folder, as the app names it)."""
    for model in models:
        folder = write(results, model, "futrell-subset-1a2b3c4d", 0.5, ceiling=0.858, metric="pearsonr",
                       settings={"metric": {"name": "pearsonr"}, "dataset": {"name": "futrell", "n_words": 300}})
        data = json.loads((folder / "result.json").read_text())
        (folder / "result.json").write_text(json.dumps({**data, "dataset": "futrell", "subset": {"n_words": 300}}))


def test_a_subset_is_never_averaged_with_the_full_benchmark(results, tmp_path):
    _subset_futrell(results, ["t5-small", "flan-t5-small"])
    out = run(results, tmp_path / "an", mixed="group", figures=False)
    columns = list(out["alignment"].columns)
    subset_col, = [c for c in columns if c.startswith("futrell-subset@")]
    assert "behavior_average" not in columns   # one full behavioral benchmark: nothing to average
    assert out["alignment"].loc["t5-small", subset_col] == 0.5
    warning = [w for w in out["collected"].warnings if w.startswith("SUBSET")]
    assert warning == [f"SUBSET of the data in: {subset_col} (flan-t5-small, t5-small) (part of the benchmark: its "
                       "own column, left out of every average)"]
    assert warning[0] in out["report"].read_text()


def test_a_subset_only_result_is_flagged(tmp_path):
    root = tmp_path / "results"
    write(root, "t5-small", "pereira", 0.2)
    _subset_futrell(root, ["t5-small"])
    col = collect(root)
    assert list(col.datasets.index) == ["pereira", "futrell"]   # one kind of futrell result: no label to say so
    assert "SUBSET of the data in: futrell (t5-small)" in " ".join(col.warnings)


def test_a_baseline_is_not_a_vanilla_model(results, tmp_path):
    write(results, "oasm", "pereira", 0.27, meta={"family": "baseline", "instruction_tuned": False})
    sets = run(results, tmp_path / "an", figures=False, mixed="group")["report"].read_text()
    vanilla = next(line for line in sets.splitlines() if line.startswith("- **vanilla**"))
    assert "oasm" not in vanilla and "t5-small" in vanilla
    assert "- **all/baseline** (1): oasm" in sets
    assert "- BASELINE models (no language model; in no pair and in no vanilla set): oasm" in sets


def test_sweep_cost_counts_only_the_analysed_runs(results, tmp_path, capsys):
    out = run(results, tmp_path / "an", figures=False, exclude=["flan-*"])
    assert out["cost"]["runs"] == 9 and "sweep cost: 9 runs" in capsys.readouterr().out


def test_figures_are_300_dpi_png_and_pdf_with_per_layer_curves(results, tmp_path):
    from PIL import Image

    for model, shift in (("t5-small", 0.0), ("flan-t5-small", 0.03)):
        layers = [{"layer": "embedding", "raw": 0.05 + shift, "ceiled": None, "mad": 0.01}] + [
            {"layer": f"encoder.block.{i}", "raw": 0.1 + 0.02 * i + shift, "ceiled": None, "mad": 0.01 * i}
            for i in range(4)]
        folder = write(results, model, "pereira", 0.16 + shift, per_layer=layers, per_subject={"s1": 0.1, "s2": 0.2})
        data = json.loads((folder / "result.json").read_text())
        data["protocols"] = {"shuffle": {"raw": 0.16 + shift}, "group": {"raw": 0.04 + shift}}
        (folder / "result.json").write_text(json.dumps(data))
    rng = np.random.default_rng(0)
    bits = rng.gamma(2.0, 3.0, 2000)
    table = tmp_path / "surprisal.csv"
    pd.DataFrame({"word": ["w"] * 2000, "surprisal_bits": bits, "mean_rt": 300 + 8 * bits + rng.normal(0, 30, 2000)}
                 ).to_csv(table, index=False)
    futrell = results / "t5-small" / "futrell" / "pearsonr" / "result.json"
    futrell.write_text(json.dumps({**json.loads(futrell.read_text()), "surprisal_file": str(table)}))
    out = run(results, tmp_path / "figs")
    names = sorted(p.name for p in out["files"] if p.suffix == ".png")
    assert names == ["alignment.png", "fig1b_pairs_brain.png", "fig1c_pairs_behavior.png", "fig2_brain.png",
                     "fig3_behavior.png", "fig4_layers.png", "fig5_protocols.png", "fig6_it_vs_vanilla.png",
                     "fig7_participants.png", "fig8_surprisal_rt.png"]
    for name in names:
        png = tmp_path / "figs" / name
        image = Image.open(png)
        assert [round(d) for d in image.info["dpi"]] == [300, 300] and min(image.size) > 600, name
        assert png.with_suffix(".pdf").stat().st_size > 1000


def test_report_opens_with_the_study_claims_and_this_analysis_numbers(results, tmp_path):
    text = run(results, tmp_path / "an", figures=False)["report"].read_text()
    head = text.split("## Headline findings")[1].split("\n## ")[0]
    assert text.index("## Headline findings") < text.index("- Results read")
    assert ("- Instruction tuning raises brain alignment (Aw et al. 2024: +6.2 % on average). Here, brain_average: "
            "mean change **+10.0 %** (95 % CI -5.7 to +25.7 %, n = 3 pairs).") in head
    assert "- Instruction tuning does not raise behavioral alignment. Here, futrell: mean change **-60.9 %**" in head
    assert "- Brain alignment grows with model size. Here, brain_average in instruction-tuned models: **r = +1.00** " \
           "(p = 0.051 n.s., n = 3)." in head   # three models: no interval
    from brainalign.analysis.report import _r_interval

    assert [round(x, 3) for x in _r_interval(0.5, 28)] == [0.156, 0.736]   # Fisher z, 1.96 / sqrt(n - 3)


def test_headline_findings_name_the_protocol_of_their_results(results, tmp_path):
    for path in results.rglob("pereira/linear/result.json"):
        r = json.loads(path.read_text())
        r["settings"] = {**r["settings"], "metric": {"name": "linear-group", "cv": ["group", "shuffle"]}}
        path.write_text(json.dumps(r))
    head = run(results, tmp_path / "an", figures=False)["report"].read_text().split("## Headline findings")[1]
    line = next(x for x in head.splitlines() if x.startswith("- Instruction tuning raises brain alignment"))
    assert line.endswith("n = 3 pairs, protocol: group).")
