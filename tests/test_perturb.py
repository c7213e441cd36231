"""dataset.perturb: text perturbations of the stimuli (Kauf et al. 2024) on real and synthetic stimuli, their
declaration per benchmark, their result folder, settings and feature cache, and their one-line errors."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.app.run import run
from brainalign.datasets.brain import BrainData
from brainalign.datasets.perturb import (Perturbation, function_words, is_function_word, perturb_passages,
                                         perturbation_of, split_token)
from brainalign.datasets.synthetic import synthetic_stimuli
from brainalign.errors import ConfigError
from brainalign.registry import PERTURBATIONS
from runif import run_if
from conftest import SHARED

REPO = Path(__file__).resolve().parents[1]
PEREIRA = SHARED / "data" / "pereira2018" / "Pereira2018_stimulus_set.csv"


def words(text: str) -> list[str]:
    return [w for w in (split_token(t)[1] for t in text.split()) if w]


def synthetic_passages() -> list[list[str]]:
    table = synthetic_stimuli(12, 5, seed=3)
    return [list(g.text) for _, g in table.groupby("passage", sort=True)]


def pereira_passages() -> list[list[str]]:
    table = pd.read_csv(PEREIRA)
    return [list(g.sentence) for _, g in table.groupby(["experiment", "passage_label"], sort=True)]


SOURCES = [pytest.param(synthetic_passages, id="synthetic"),
           pytest.param(pereira_passages, id="pereira", marks=run_if(shared="data/pereira2018/Pereira2018_stimulus_set.csv"))]


@pytest.mark.parametrize("source", SOURCES)
def test_scramble_keeps_each_stimulus_words_and_punctuation_slots(source):
    passages = source()
    out, orders = perturb_passages(passages, "scramble-words", seed=0)
    assert orders == [list(range(len(p))) for p in passages]   # the sentences stay in their order
    changed = 0
    for before, after in zip(sum(passages, []), sum(out, [])):
        assert Counter(words(before)) == Counter(words(after))
        # each whitespace slot keeps its punctuation; only the words move
        assert [(lead, trail) for lead, _, trail in map(split_token, before.split())] == \
               [(lead, trail) for lead, _, trail in map(split_token, after.split())]
        changed += words(before) != words(after)
    assert changed > 0.8 * len(sum(passages, []))


@pytest.mark.parametrize("source", SOURCES)
def test_shuffle_keeps_each_passage_sentences(source):
    passages = source()
    out, orders = perturb_passages(passages, "shuffle-sentences", seed=0)
    for parts, shuffled, order in zip(passages, out, orders):
        assert sorted(order) == list(range(len(parts)))
        assert shuffled == [parts[k] for k in order]   # each text unchanged, in a new order
    assert sum(o != sorted(o) for o in orders) > 0.5 * len(passages)


@pytest.mark.parametrize("source", SOURCES)
def test_content_and_function_words_partition_each_stimulus(source):
    passages = source()
    content, _ = perturb_passages(passages, "content-words", seed=0)
    function, _ = perturb_passages(passages, "function-words", seed=0)
    for before, c, f in zip(sum(passages, []), sum(content, []), sum(function, [])):
        kept_c, kept_f = words(c), words(f)
        assert not any(is_function_word(w) for w in kept_c) and all(is_function_word(w) for w in kept_f)
        assert Counter(kept_c) + Counter(kept_f) == Counter(words(before))   # complete and disjoint
        assert kept_c == [w for w in words(before) if not is_function_word(w)]  # in their order
        end = split_token(before.split()[-1])[2]
        assert c.endswith(end or ".") and f.endswith(end or ".")   # the final punctuation stays


@pytest.mark.parametrize("source", SOURCES)
def test_random_words_come_from_the_stimulus_vocabulary(source):
    passages = source()
    vocabulary = {w for s in sum(passages, []) for w in words(s)}
    out, _ = perturb_passages(passages, "random-words", seed=0)
    same = 0
    for before, after in zip(sum(passages, []), sum(out, [])):
        assert len(words(after)) == len(words(before)) and set(words(after)) <= vocabulary
        same += words(after) == words(before)
    assert same == 0


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_seeded_and_deterministic(name):
    passages = synthetic_passages()
    first = perturb_passages(passages, name, seed=1)
    assert perturb_passages(passages, name, seed=1) == first
    if name not in ("content-words", "function-words"):   # the filters draw nothing
        assert perturb_passages(passages, name, seed=2) != first


def test_function_word_list_is_closed_class_and_lower_case():
    listed = function_words()
    assert {"the", "of", "and", "is", "she", "not", "would", "between", "don't"} <= listed
    assert not {"dog", "run", "happy", "quickly", "beekeeping"} & listed
    assert all(w == w.lower() and w.strip() == w for w in listed)
    assert is_function_word("The") and is_function_word("1990") and is_function_word("It\u2019s")
    assert not is_function_word("Beekeepers")


def test_word_unit_scrambles_by_reordering_the_words_of_a_sentence():
    passages = [["The", "old", "dog", "slept", "by", "the", "door"]] * 3
    out, orders = perturb_passages(passages, "scramble-words", seed=0, unit="word")
    assert all(sorted(o) == list(range(7)) for o in orders) and any(o != list(range(7)) for o in orders)
    assert all(texts == [p[k] for k in o] for p, texts, o in zip(passages, out, orders))
    with pytest.raises(ConfigError, match="unit 'word'"):
        perturb_passages(passages, "content-words", seed=0, unit="word")


def brain_data() -> BrainData:
    stimuli = synthetic_stimuli(4, 5, seed=0)
    responses = np.arange(len(stimuli) * 3, dtype=float).reshape(-1, 3)
    neuroids = pd.DataFrame({"neuroid_id": ["a", "b", "c"], "subject": ["s1", "s1", "s2"]})
    return BrainData("toy", stimuli, responses, neuroids, ceiling=0.5, group_by="passage")


def test_shuffled_sentences_keep_their_responses():
    from brainalign.benchmarks.brain import passage_texts

    data = brain_data()
    data.ceiling_source = {"from": "test"}
    shuffled = Perturbation("shuffle-sentences", seed=0).apply(data)
    assert shuffled.responses is data.responses and shuffled.ceiling_source == {"from": "test"}
    assert list(shuffled.stimuli["text"]) == list(data.stimuli["text"])   # rows keep their text and response
    texts, order = passage_texts(shuffled)
    assert [t for p in texts for t in p] == list(data.stimuli["text"].iloc[order])   # read in the shuffled order
    assert list(order) != sorted(order) and sorted(order) == list(range(len(order)))
    scrambled = Perturbation("scramble-words", seed=0).apply(data)
    assert list(scrambled.stimuli["intact_text"]) == list(data.stimuli["text"])
    assert [p for p in scrambled.passages()] == data.passages()


def test_each_benchmark_declares_what_it_takes():
    cfg = {"name": "x", "perturb": "content-words", "perturb_seed": 0}
    assert perturbation_of({**cfg, "benchmark": "pereira"}) == Perturbation("content-words", 0, "sentence")
    assert perturbation_of({**cfg, "benchmark": "pereira", "perturb": "none"}) is None
    with pytest.raises(ConfigError, match="dataset=x cannot take dataset.perturb=content-words: it takes scramble-words"):
        perturbation_of({**cfg, "benchmark": "fedorenko2016"})
    assert perturbation_of({**cfg, "benchmark": "fedorenko2016", "perturb": "scramble-words"}).unit == "word"
    with pytest.raises(ConfigError, match="shuffle-sentences"):
        perturbation_of({**cfg, "benchmark": "tuckute2024", "perturb": "shuffle-sentences"})
    with pytest.raises(ConfigError, match="not text it can perturb"):
        perturbation_of({**cfg, "benchmark": "futrell"})
    with pytest.raises(ConfigError, match="choose one of none, scramble-words"):
        perturbation_of({**cfg, "benchmark": "pereira", "perturb": "scramble"})
    with pytest.raises(ConfigError, match="perturb_seed=-1"):
        perturbation_of({**cfg, "benchmark": "pereira", "perturb_seed": -1})
    with pytest.raises(ConfigError, match="no effect with dataset.perturb=none"):
        perturbation_of({**cfg, "benchmark": "pereira", "perturb": "none", "perturb_seed": 2})


def test_folder_and_settings_key(make_config):
    from brainalign.config.subset import dataset_dir
    from brainalign.scoring import describe, settings_key

    intact = make_config("dataset=pereira")
    perturbed = make_config("dataset=pereira", "dataset.perturb=random-words", "dataset.perturb_seed=3")
    assert dataset_dir(intact.dataset) == "pereira"
    assert dataset_dir(perturbed.dataset) == "pereira-perturb-random-words-s3"
    assert "perturb" not in describe(intact)["settings"]["dataset"]   # intact: the key results had before
    settings = describe(perturbed)["settings"]["dataset"]
    assert settings["perturb"] == "random-words" and settings["perturb_seed"] == 3
    assert settings_key(describe(intact)) != settings_key(describe(perturbed))
    with pytest.raises(ConfigError, match="cannot take dataset.perturb=scramble-words"):   # before any folder is made
        dataset_dir(make_config("dataset=futrell", "dataset.perturb=scramble-words").dataset)


def test_plan_covers_a_perturbation():
    from brainalign.app import plan
    from conftest import compose_config

    intact = plan.plan_one(compose_config("tracking=disabled", "model=gpt2", "dataset=pereira", "task=plan"))
    row = plan.plan_one(compose_config("tracking=disabled", "model=gpt2", "dataset=pereira", "task=plan",
                                       "dataset.perturb=shuffle-sentences"))
    assert row.dataset == "pereira-perturb-shuffle-sentences-s0" and "perturb=shuffle-sentences" in row.note
    assert row.forward_tokens == intact.forward_tokens
    with pytest.raises(ConfigError, match="cannot take dataset.perturb"):
        plan.plan_one(compose_config("tracking=disabled", "model=gpt2", "dataset=futrell", "task=plan",
                                     "dataset.perturb=scramble-words"))


def test_intact_and_perturbed_features_are_never_shared(make_config, tiny_gpt2, tmp_path):
    small = [*tiny_gpt2, "dataset.n_passages=8"]
    features = tmp_path / "cache" / "features"
    intact = run(make_config(*small))
    assert intact["timings"]["features_cached"] is False and "perturb" not in intact
    files = set(features.rglob("*.npz"))
    scrambled = run(make_config(*small, "dataset.perturb=scramble-words"))
    assert scrambled["timings"]["features_cached"] is False   # the intact features were not reused
    assert scrambled["perturb"] == {"name": "scramble-words", "seed": 0}
    assert len(set(features.rglob("*.npz")) - files) == 1 and scrambled["raw"] < intact["raw"]
    again = run(make_config(*small, "dataset.perturb=scramble-words", "force=true"))
    assert again["timings"]["features_cached"] is True and again["raw"] == scrambled["raw"]
    assert run(make_config(*small, "force=true"))["raw"] == intact["raw"]   # nor the perturbed ones for intact
    folders = {p.parent.parent.name for p in (tmp_path / "out" / "tiny-gpt2").rglob("result.json")}
    subset = next(f for f in folders if "perturb" not in f)
    assert folders == {subset, f"{subset}-perturb-scramble-words-s0"} and subset.startswith("synthetic-subset-")


@pytest.mark.slow  # a fresh interpreter through main.py, twice: ~20 s
def test_main_py_writes_the_perturbed_run_in_its_own_folder(tiny_models, tmp_path):
    args = [sys.executable, "main.py", "model=gpt2", f"model.path={tiny_models['gpt2']}", "model.name=tiny-gpt2",
            "dataset=synthetic", "dataset.perturb=scramble-words", f"results_dir={tmp_path}",
            f"cache_dir={tmp_path / 'cache'}", "tracking=disabled", "progress=false"]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = json.loads((tmp_path / "tiny-gpt2" / "synthetic-perturb-scramble-words-s0" / "linear" / "result.json").read_text())
    assert stored["perturb"] == {"name": "scramble-words", "seed": 0} and stored["dataset"] == "synthetic"
    assert stored["settings"]["dataset"]["perturb"] == "scramble-words"
    assert not (tmp_path / "tiny-gpt2" / "synthetic").exists()
    bad = subprocess.run([*args[:6], "dataset.perturb=scramble"] + args[7:], cwd=REPO, capture_output=True,
                         text=True, env=env, timeout=600)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "dataset.perturb=scramble: choose one of none, scramble-words" in bad.stderr
    assert [p.name for p in (tmp_path / "tiny-gpt2").iterdir()] == ["synthetic-perturb-scramble-words-s0"]


def write_perturbed(root, model, raw, name, seed, settings=None):
    """A perturbed result as a run writes it: its own folder, the intact dataset's name, `perturb`."""
    from test_analysis import SETTINGS, write

    settings = settings or SETTINGS
    settings = {**settings, "dataset": {**settings["dataset"], "perturb": name, "perturb_seed": seed}}
    folder = write(root, model, f"pereira-perturb-{name}-s{seed}", raw, settings=settings)
    result = json.loads((folder / "result.json").read_text())
    result.update(dataset="pereira", benchmark="pereira", perturb={"name": name, "seed": seed})
    (folder / "result.json").write_text(json.dumps(result))


def test_analysis_intact_minus_perturbed_per_model_and_pair(tmp_path):
    from brainalign.analysis import collect, run
    from brainalign.analysis.perturbations import compare, pair_gains
    from test_analysis import SETTINGS, write

    root = tmp_path / "results"
    intact = {"t5-small": 0.17, "flan-t5-small": 0.20, "t5-base": 0.22, "flan-t5-base": 0.23}
    scrambled = {"t5-small": (0.15, 0.13), "flan-t5-small": (0.19, 0.17), "t5-base": (0.20, 0.22), "flan-t5-base": (0.2, 0.2)}
    for model, raw in intact.items():
        write(root, model, "pereira", raw)
        for seed, value in enumerate(scrambled[model]):
            write_perturbed(root, model, value, "scramble-words", seed)
    write_perturbed(root, "t5-small", 0.05, "function-words", 0)
    other = {**SETTINGS, "metric": {**SETTINGS["metric"], "correlation": "scipy"}}   # no intact run with these
    write_perturbed(root, "t5-base", 0.1, "content-words", 0, settings=other)
    col = collect(root)   # the perturbed results are kept apart: no mixed-settings refusal
    assert len(col.rows) == 4 and len(col.perturbed) == 10 and list(col.datasets.index) == ["pereira"]
    table, lonely = compare(col)
    assert lonely == ["t5-base on pereira (content-words, seed 0)"]
    for model, raw in intact.items():
        row = table[(table.model == model) & (table.perturb == "scramble-words")].iloc[0]
        assert row.n_seeds == 2 and row.intact == raw
        assert row["drop"] == pytest.approx(raw - np.mean(scrambled[model]))
    function = table[table.perturb == "function-words"].iloc[0]
    assert function.model == "t5-small" and function["drop"] == pytest.approx(0.17 - 0.05)
    gains = pair_gains(table, col.models)
    assert set(gains.model) == {"flan-t5-small", "flan-t5-base"} and set(gains.perturb) == {"scramble-words"}
    small = gains[gains.model == "flan-t5-small"].iloc[0]
    assert small.it_gain_intact == pytest.approx(0.20 - 0.17)
    assert small.it_gain_perturbed == pytest.approx(np.mean(scrambled["flan-t5-small"]) - np.mean(scrambled["t5-small"]))
    report = run(root, tmp_path / "an", figures=False)["report"].read_text()
    assert "## Text perturbations: intact minus perturbed" in report and "t5-base on pereira (content-words" in report
    assert (tmp_path / "an" / "perturbations.csv").exists() and (tmp_path / "an" / "perturbation_pairs.csv").exists()
