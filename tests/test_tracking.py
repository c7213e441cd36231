"""W&B as a user reads it: offline runs read back from their .wandb logs (tests/wandb_records.py)."""

import json

import pytest

from brainalign.app import run as app
from brainalign.app.results import layer_depths
from brainalign.plumbing.interrupt import Interrupted
from wandb_records import offline_runs


CV = "linear-shuffle+group"


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    return "tracking=offline"


def _out(tmp_path, metric="linear"):
    return tmp_path / "out" / "tiny-gpt2" / "synthetic" / metric


def test_layer_depths_put_sub_modules_inside_their_block():
    names = ["model.embed_tokens", "model.layers.0", "model.layers.1", "model.layers.0.post_attention_layernorm",
             "model.layers.1.post_attention_layernorm", "language_network"]
    assert [r["depth"] for r in layer_depths(names)] == [0.0, 0.5, 1.0, 0.25, 0.75, None]
    assert [r["kind"] for r in layer_depths(names)][2:4] == ["block", "post_attention_layernorm"]
    assert layer_depths(["oasm_sigma1.0"]) == [{"depth": None, "block": None, "kind": "other"}]   # a baseline
    # an encoder-decoder's stacks one after the other
    assert [r["depth"] for r in layer_depths(["encoder.block.0", "encoder.block.1", "decoder.block.0"])] == \
        [pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0]


@pytest.mark.slow  # W&B start-up, twice: ~15 s
def test_scored_run_reads_back_with_layers_protocols_and_identity(make_config, tiny_gpt2, tmp_path, offline, capsys):
    cfg = make_config(*tiny_gpt2, offline, "metric.cv=[shuffle,group]")
    result = app.run(cfg)
    run, = offline_runs(_out(tmp_path, CV))
    assert run.exit_code == 0 and "failed" not in run.tags
    assert run.name == "tiny-gpt2/synthetic/linear-shuffle+group"
    assert {"gpt2", "vanilla", "synthetic"} <= set(run.tags)
    assert run.config["pair_key"] == "tiny-gpt2" and run.config["settings_key"] == result["settings_key"]
    assert "paths" not in run.config["config"] and "results_dir" not in run.config["config"]
    assert "path" not in run.config["config"]["model"] and run.config["version"]
    # one history row per layer, in depth order, stepped on layer/depth, with each protocol's raw score
    rows = [r for r in run.history if "layer/depth" in r]
    assert [r["layer/depth"] for r in rows] == [0.0, 0.5, 1.0]
    assert [r["layer/raw"] for r in rows] == [row["raw"] for row in result["per_layer"]]
    assert [r["layer/group/raw"] for r in rows] == [row["raw"] for row in result["protocols"]["group"]["per_layer"]]
    assert any(m.glob_name == "layer/*" and m.step_metric == "layer/depth" for m in run.metrics)
    for name in ("shuffle", "group"):
        assert run.summary[f"protocol/{name}/raw"] == result["protocols"][name]["raw"]
        assert run.summary[f"protocol/{name}/best_layer"] == result["protocols"][name]["best_layer"]
    assert run.summary["n_stimuli"] == 200 and "ceiling_source" in run.summary
    header = (_out(tmp_path, CV) / "layers.csv").read_text().splitlines()[0]
    assert header == "index,layer,raw,ceiled,mad,shuffle_raw,group_raw"
    # the result travels with the run: result.json, layers.csv and each protocol's comparison arrays
    art, = [a for a in run.artifacts if a.type == "result"]
    assert art.type == "result" and art.name == "result-tiny-gpt2-synthetic-linear-shuffle_group"
    assert sorted(e.path for e in art.manifest.contents) == ["layers.csv", "result.json"]
    assert json.loads(art.metadata)["settings_key"] == result["settings_key"]
    # the console ends with every protocol's best score, the confound-controlled one included
    printed = capsys.readouterr().out
    for name in ("shuffle", "group"):
        p = result["protocols"][name]
        assert (f"protocol {name}: best layer {p['best_layer']} (raw {p['raw']:.4f}, "
                f"ceiled {p['ceiled']:.4f})") in printed
    # force=true: a new run that names the one it replaces
    app.run(make_config(*tiny_gpt2, offline, "metric.cv=[shuffle,group]", "force=true"))
    first, second = offline_runs(_out(tmp_path, CV))
    assert second.config["replaces"] == result["settings_key"] != second.config["settings_key"] + "x"
    assert second.name == first.name and len({p.name for p in _out(tmp_path, CV).glob("wandb/offline-run-*")}) == 2


@pytest.mark.slow  # W&B start-up: ~5 s
@pytest.mark.parametrize("err, code, tag", [(RuntimeError("no weights"), 1, "failed"),
                                            (Interrupted(143), 143, "interrupted"),
                                            (KeyboardInterrupt(), 130, "interrupted")])
def test_failed_or_interrupted_job_ends_its_run_so(make_config, tiny_gpt2, tmp_path, offline, monkeypatch,
                                                   err, code, tag):
    def broken(*args, **kwargs):
        raise err
    monkeypatch.setattr(app, "score_model", broken)
    with pytest.raises(type(err)):
        app.score(make_config(*tiny_gpt2, offline))
    run, = offline_runs(_out(tmp_path))
    assert run.exit_code == code and tag in run.tags
    assert run.summary["error"] == ("RuntimeError: no weights" if code == 1
                                    else "interrupted; rerun the same command to resume")


def test_one_layer_baseline_has_no_layer_choice_to_recover(tmp_path):
    result = {"model": {"name": "oasm"}, "dataset": "synthetic", "metric": "linear", "synthetic": True,
              "per_layer": [], "raw": 0.3, "ceiled": 0.4, "ceiling": 0.7, "planted_layer": "oasm",
              "planted_layer_index": 0, "planted_raw": 0.3, "best_raw_before_planted": float("nan"),
              "shuffled_control_raw": 0.01, "recovered": True}
    text = app.summary_text(result, tmp_path)
    assert "planted signal in oasm, its only layer (raw 0.3000; shuffled responses 0.0100): no layer choice to " \
           "recover" in text
    assert "nan" not in text and "recovered" not in text


def test_result_artifact_carries_the_comparison_arrays(tmp_path):
    from brainalign.app.tracking import result_artifact

    out = tmp_path / "m" / "futrell" / "pearsonr"
    out.mkdir(parents=True)
    for name in ("result.json", "comparison_group.npz", "comparison_shuffle.npz", "comparison_x.tmp.npz"):
        (out / name).write_text("{}")
    art = result_artifact(out)
    assert art.name == "result-m-futrell-pearsonr" and art.type == "result"
    assert sorted(art.manifest.entries) == ["comparison_group.npz", "comparison_shuffle.npz", "result.json"]


def test_names_tags_and_pair_keys_tell_runs_apart(make_config, monkeypatch):
    from brainalign.app.tracking import pair_key, run_name, run_tags, sweep_group

    fast = make_config("model=flan-t5-small", "dataset=futrell", "dataset.stories=[1,2]",
                       "dataset.surprisal.mode=fast")
    assert run_name(fast) == "flan-t5-small/futrell[stories=[1, 2]]/pearsonr/fast"
    assert run_tags(fast) == ["t5", "instruction-tuned", "subset"]
    exact = make_config("model=t5-small", "dataset=futrell")
    assert run_name(exact) == "t5-small/futrell/pearsonr/exact" and run_tags(exact) == ["t5", "vanilla"]
    assert pair_key(fast.model) == pair_key(exact.model) == "t5-small"   # both members of the pair
    oasm = make_config("model=oasm")
    assert pair_key(oasm.model) is None and run_tags(oasm) == ["baseline", "synthetic"]
    monkeypatch.delenv("BRAINALIGN_SWEEP_RECORD", raising=False)
    assert sweep_group() is None
    monkeypatch.setenv("BRAINALIGN_SWEEP_RECORD", "/x/.sweeps/20260101-120000-42")
    assert sweep_group() == "sweep-20260101-120000-42"


def test_a_failed_fine_tuning_run_says_so_too(tmp_path, offline):
    from brainalign.app.tracking import FinetuneTracker

    tracker = FinetuneTracker({"mode": "offline", "group": "ft"}, tmp_path, name="arm", config={"lr": 1e-4})
    tracker.log_score(step=2, epoch=1.0, values={"probe": 0.5})
    tracker.finish(Interrupted(143))
    run, = offline_runs(tmp_path)
    assert (run.exit_code, run.group, run.tags) == (143, "ft", ["interrupted"])
    assert run.history[0]["score/probe"] == 0.5


def test_reading_times_say_what_the_number_is_and_send_their_words(tmp_path, offline):
    import wandb

    from brainalign.app.tracking import Tracker

    words = tmp_path / "surprisal.csv"
    words.write_text("story,word,surprisal_bits,mean_rt\n1,The,3.5,300.0\n1,cat,9.0,340.0\n")
    result = {"model": {"name": "m"}, "dataset": "futrell", "metric": "pearsonr", "per_layer": [], "raw": 0.21,
              "ceiled": 0.25, "ceiling": 0.858, "rvalue": 0.21, "pvalue": 1e-9, "n_words": 9512,
              "ceiling_source": "stored (Brain-Score's split-half value on its assembly, 0.858)",
              "surprisal_file": str(words), "per_suite": {"npi": 0.5}}
    assert ("raw = |r| of surprisal with mean reading time over 9,512 words (r = +0.2100, p = 1e-09); ceiling: "
            "stored (Brain-Score's split-half value on its assembly, 0.858)") in app.summary_text(result, tmp_path)
    run = wandb.init(project="brainalign", mode="offline", dir=str(tmp_path))
    Tracker(run).log_result(result)
    run.finish()
    logged, = offline_runs(tmp_path)
    keys = {k.split("/")[0] for row in logged.history for k in row}
    assert {"words", "surprisal_rt_table", "per_suite"} <= keys
    assert logged.summary["n_words"] == 9512


def test_a_result_artifact_refers_to_the_caches_it_names_without_copying_them(tmp_path):
    from brainalign.app import results
    from brainalign.app.tracking import result_artifact

    out = tmp_path / "m" / "futrell" / "pearsonr"
    table = tmp_path / "cache" / "surprisal" / "words.csv"
    table.parent.mkdir(parents=True)
    table.write_text("word,surprisal_bits\nthe,3.0\n")
    result = {k: None for k in results.SUMMARY_KEYS} | {"surprisal_file": str(table), "other_file": "/no/such"}
    results.write(out, result)
    entries = result_artifact(out, result).manifest.entries
    assert {"result.json", "cache/words.csv"} <= set(entries) and "cache/such" not in entries
    assert entries["cache/words.csv"].ref == table.resolve().as_uri()
