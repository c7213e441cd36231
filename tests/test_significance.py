import pytest
"""The analysis's paired tests of instruction-tuned vs vanilla models, per protocol, and its answer."""

import numpy as np
import pandas as pd

from brainalign.analysis import run
from brainalign.analysis.significance import answer, pair_comparisons, summarize
from brainalign.app.comparison_files import save_comparison_arrays
from brainalign.metrics.crossval import row_basis
from brainalign.metrics.dual_bootstrap import Design
from brainalign.metrics.protocols import score_protocol
from brainalign.metrics.splits import group_splits, shuffle_splits
from test_analysis import write

N, SUBJECTS = 120, np.repeat(["s1", "s2", "s3", "s4", "s5", "s6"], 10)
RNG = np.random.default_rng(0)
LATENT = RNG.standard_normal((N, 4))
Y = LATENT @ RNG.standard_normal((4, len(SUBJECTS))) + 1.5 * RNG.standard_normal((N, len(SUBJECTS)))
UNITS = (np.arange(N) // 4).astype(str)
PROTOCOLS = {"shuffle": shuffle_splits(N, 5), "group": group_splits(np.arange(N) // 4, 5)}
METRIC = {"kind": "linear", "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}



pytestmark = pytest.mark.usefixtures("few_bootstrap_samples")  # conftest: 20 samples, 5 assignments

def save(folder, noise, protocol, seed, splits=None):
    features = LATENT + noise * np.random.default_rng(seed).standard_normal(LATENT.shape)
    splits = PROTOCOLS[protocol] if splits is None else splits
    r = score_protocol(features, Y, splits, **METRIC)[0].per_split_neuroid[None]
    part = dict(name="pereira", r=r, subjects=SUBJECTS, ceiling=1.0, tests=[t for _, t in splits],
                design=Design(row_basis(features), Y, UNITS, splits))
    save_comparison_arrays(folder, benchmark="pereira", protocol=protocol, layers=["l0"], best_layer=0, parts=[part],
                           metric=METRIC)


def zoo(root, it_better_under_group):
    """Three pairs: IT clearly better under shuffle; under group better or exactly as good as its pair."""
    for k, (it, vanilla) in enumerate([("flan-t5-small", "t5-small"), ("flan-t5-base", "t5-base"), ("flan-t5-xl", "t5-xl")]):
        folders = {m: write(root, m, "pereira", 0.2, per_subject={"s1": 0.2}) for m in (it, vanilla)}
        save(folders[it], 0.3, "shuffle", k)
        save(folders[vanilla], 3.0, "shuffle", 10 + k)
        save(folders[it], 0.3 if it_better_under_group else 3.0, "group", k if it_better_under_group else 10 + k)
        save(folders[vanilla], 3.0, "group", 10 + k)


def test_each_pair_is_tested_under_each_protocol_and_the_question_is_answered(tmp_path):
    zoo(tmp_path / "results", it_better_under_group=False)
    out = run(tmp_path / "results", tmp_path / "an", figures=False)
    tested = out["significance"]
    assert len(tested) == 6 and set(tested["protocol"]) == {"shuffle", "group"}
    shuffle, group = tested[tested["protocol"] == "shuffle"], tested[tested["protocol"] == "group"]
    assert (shuffle["difference"] > 0).all() and shuffle["significant"].all() and (shuffle["low"] > 0).all()
    assert (group["difference"] == 0).all() and (group["p"] == 1).all() and not group["significant"].any()
    assert (tested["method"] == "dual bootstrap").all() and (tested["p_bh"] >= tested["p"]).all()
    assert (group["low"] <= 0).all() and (group["high"] >= 0).all()
    written = pd.read_csv(tmp_path / "an" / "pairs.csv")
    assert (written["p_shuffle"] < 0.05).all() and (written["p_group"] == 1).all()
    assert (written["low_shuffle"] > 0).all() and written["significant_shuffle"].all()
    pooled = summarize(tested).set_index("protocol")
    # three pairs, each IT model clearly better under shuffle: the pooled mean over pairs is above 0
    assert pooled.loc["shuffle", "pooled_pairs"] == 3 and pooled.loc["shuffle", "pooled_low"] > 0
    assert pooled.loc["shuffle", "pooled_low"] < tested.loc[tested["protocol"] == "shuffle", "difference"].mean()
    text = out["report"].read_text()
    assert "## Is it language?" in text and "Not shown" in text and "n = 3 comparisons" in text
    assert "Benjamini-Hochberg" in text and "generalise over model pairs" in text
    assert len(list((tmp_path / "results").glob("**/replicates_*.npz"))) == 12   # a rerun reads them


def test_an_improvement_that_survives_the_control_is_a_yes(tmp_path):
    zoo(tmp_path / "results", it_better_under_group=True)
    from brainalign.analysis import collect

    col = collect(tmp_path / "results")
    tested = pair_comparisons(col.rows, col.models)
    assert "Yes:" in answer(tested) and tested["significant"].all()


def test_without_comparison_arrays_the_report_says_it_cannot_say(tmp_path):
    write(tmp_path / "r", "t5-small", "pereira", 0.2)
    write(tmp_path / "r", "flan-t5-small", "pereira", 0.3)
    out = run(tmp_path / "r", tmp_path / "an", figures=False)
    assert out["significance"].empty and "Cannot say" in out["report"].read_text()


def test_a_pair_whose_arrays_do_not_line_up_is_reported_not_raised(tmp_path):
    root = tmp_path / "r"
    folders = {m: write(root, m, "pereira", 0.2, per_subject={"s1": 0.2}) for m in ("flan-t5-small", "t5-small")}
    for m, noise, seed in (("flan-t5-small", 0.3, 0), ("t5-small", 3.0, 10)):
        save(folders[m], noise, "shuffle", seed)
    save(folders["flan-t5-small"], 0.3, "group", 0)
    save(folders["t5-small"], 3.0, "group", 10, splits=group_splits(np.arange(N) // 6, 5))  # other stories
    out = run(root, tmp_path / "an", figures=False)
    tested = out["significance"].set_index("protocol")
    assert pd.isna(tested.loc["shuffle", "note"]) and tested.loc["shuffle", "difference"] > 0
    assert "different splits" in tested.loc["group", "note"] and np.isnan(tested.loc["group", "difference"])
    text = out["report"].read_text()
    assert "not compared: flan-t5-small vs t5-small on pereira (group): not paired:" in text
    assert "no result under a controlled protocol" in text  # the unpaired group row is not counted
    assert summarize(out["significance"])["n_pairs"].sum() == 1


def test_the_number_of_processes_must_be_one_or_more(tmp_path):
    from brainalign.errors import ConfigError

    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="give a number of processes"):
            run(tmp_path, tmp_path / "an", figures=False, jobs=bad)
