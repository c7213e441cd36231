"""Instruction-tuned vs vanilla, pair by pair, with intervals and p-values, under each protocol.

For every instruction-tuned model and its vanilla pair (the `pair:` of its config), on every dataset
column where both results kept comparison arrays (brainalign.metrics.compare), one paired comparison
per protocol: the difference IT - vanilla of the benchmark score, its 95 % interval and one p from
the dual bootstrap over subjects and stimulus units (docs/statistics.md; results written before
it carry the older, uncalibrated method, named in `method`). significant: that p, Benjamini-Hochberg
adjusted across the compared rows of the table (p_bh), below 0.05.

Then the study's question, asked again with the confound controlled (Hadidi et al. 2025 showed that
shuffled cross-validation over sentences of one passage rewards passage-level autocorrelation, which
a model without language, OASM, exploits): does instruction tuning still improve alignment under the
group / contiguous protocols, and in the variance a layer explains beyond OASM and the other
confounds (the banded metric's unique variance)? The answer is read off whatever results exist, with
the number of pairs it rests on.
"""

from pathlib import Path

import pandas as pd
from scipy.stats import false_discovery_control

from brainalign.analysis.meta import random_effects
from brainalign.analysis.pairs import pair_of
from brainalign.errors import DataMismatch
from brainalign.app.comparison_files import cache_tables, compare_pair, comparison_files

CONTROLLED = ("group", "contiguous")  # protocols that hold whole passages / stories out
UNIQUE = "unique_variance"
ALPHA = 0.05
COLUMNS = ["model", "pair", "dataset", "protocol", "quantity", "controlled", "it", "vanilla", "difference", "low",
           "high", "p", "p_bh", "significant", "se", "method", "p_bootstrap", "p_permutation", "n_subjects", "n_units",
           "n_stimuli", "n_neuroids", "note"]
RULE = ("significant: the pair's p, Benjamini-Hochberg adjusted across the compared rows of this table, below 0.05. "
        "Each row's interval and p (dual bootstrap, docs/statistics.md) treat subjects and stimulus units "
        "(passages, stories) as independent draws, with the cross-validation redone in every sample: they "
        "generalise to new subjects and new stimuli, for these two models. The summary's pooled mean is a "
        "random-effects mean over the pairs (DerSimonian-Laird, Hartung-Knapp interval on k - 1 degrees of "
        "freedom), each pair weighted by its own standard error: it generalises over model pairs; pairs that "
        "share a vanilla model are not independent, so read its p as descriptive. Rows whose method is \"older, "
        "uncalibrated\" come from results written before that method (p: the larger of a bootstrap over test "
        "stimuli and a sign-flip test over subjects, whose false-positive rate exceeds 5 %); score them again.")


def _arrays_of(path):
    """protocol -> comparison file of the result at `path` (its result.json)."""
    return comparison_files(Path(path).parent)


def paired(file_a, file_b, *, n_boot=1000, n_perm=10000, seed=0):
    """(arrays of a, comparison a - b) of two comparison_<protocol>.npz files, or (None, why) when the
    two results do not pair (other stimuli, splits, neuroids or benchmark parts)."""
    try:
        return compare_pair(file_a, file_b, n_boot=n_boot, n_perm=n_perm, seed=seed)
    except DataMismatch as e:
        return None, f"not paired: {e}"


def compared(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The rows that were compared (those that did not pair carry a note instead)."""
    return comparisons[comparisons["note"].isna()] if len(comparisons) else comparisons


def pair_comparisons(rows: pd.DataFrame, models: pd.DataFrame, *, n_boot=1000, n_perm=10000, seed=0,
                     jobs=1) -> pd.DataFrame:
    """One row per (IT model, dataset column, protocol) where both results have comparison arrays; a
    pair whose arrays do not line up gets a row with only its `note`.

    rows / models: Collected.rows and Collected.models (brainalign.analysis.collect). jobs: processes
    that compute the results' bootstrap tables (one result each; cached beside the result)."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    paths = {(r.model, r.dataset): r.path for r in rows.itertuples()}
    todo = []   # (IT model, vanilla, dataset, protocol, file of each)
    for name in models.index:
        pair = pair_of(models, name)
        if not bool(models.loc[name, "instruction_tuned"]) or pair is None:
            continue
        for (model, dataset), path in paths.items():
            if model != name or (pair, dataset) not in paths:
                continue
            mine, theirs = _arrays_of(path), _arrays_of(paths[(pair, dataset)])
            todo += [(name, pair, dataset, protocol, mine[protocol], theirs[protocol])
                     for protocol in sorted(set(mine) & set(theirs))]
    cache_tables([f for *_, a, b in todo for f in (a, b)], jobs)
    out = []
    for name, pair, dataset, protocol, file_a, file_b in todo:
        a, c = paired(file_a, file_b, n_boot=n_boot, n_perm=n_perm, seed=seed)
        if a is None:
            out.append({"model": name, "pair": pair, "dataset": dataset, "protocol": protocol,
                        "controlled": protocol in CONTROLLED, "significant": False, "note": c})
            continue
        out.append({"model": name, "pair": pair, "dataset": dataset, "protocol": protocol,
                    "quantity": a.quantity, "controlled": protocol in CONTROLLED or a.quantity == UNIQUE,
                    "it": c.score_a, "vanilla": c.score_b, "difference": c.difference, "low": c.low,
                    "high": c.high, "p": c.p, "se": c.se, "method": c.method, "p_bootstrap": c.p_bootstrap,
                    "p_permutation": c.p_permutation, "n_subjects": c.n_subjects, "n_units": c.n_units,
                    "n_stimuli": c.n_stimuli, "n_neuroids": c.n_neuroids, "note": None})
    return with_significance(pd.DataFrame(out, columns=COLUMNS))


def with_significance(table: pd.DataFrame) -> pd.DataFrame:
    """p_bh (Benjamini-Hochberg across the rows that have a p) and significant = p_bh < ALPHA."""
    table = table.copy()
    has = table["p"].notna() if len(table) else pd.Series(dtype=bool)
    table["p_bh"] = float("nan")
    if has.any():
        table.loc[has, "p_bh"] = false_discovery_control(table.loc[has, "p"].astype(float).to_numpy())
    table["significant"] = (table["p_bh"] < ALPHA).fillna(False).astype(bool)
    return table


def _tally(g: pd.DataFrame) -> dict:
    d = g["difference"]
    return {"n_pairs": len(g), "n_up": int((d > 0).sum()), "n_down": int((d < 0).sum()),
            "n_up_significant": int(((d > 0) & g["significant"]).sum()),
            "n_down_significant": int(((d < 0) & g["significant"]).sum()), "mean_difference": float(d.mean())}


def _pooled(g: pd.DataFrame) -> dict:
    """The random-effects mean over the pairs that have a standard error (brainalign.analysis.meta)."""
    se = g["se"] if "se" in g else pd.Series(float("nan"), index=g.index)
    re = random_effects(g["difference"].to_numpy(float), se.to_numpy(float))
    return {"pooled_pairs": re["k"], "pooled_mean": re["mean"], "pooled_low": re["low"], "pooled_high": re["high"],
            "pooled_p": re["p"], "pooled_tau2": re["tau2"]}


def summarize(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and quantity: pairs, how many went up / down, how many of them significantly, and
    the random-effects mean of the differences, each pair weighted by its own standard error."""
    cols = ["protocol", "quantity", "controlled", "n_pairs", "n_up", "n_down", "n_up_significant",
            "n_down_significant", "mean_difference", "pooled_pairs", "pooled_mean", "pooled_low", "pooled_high",
            "pooled_p", "pooled_tau2"]
    comparisons = compared(comparisons)
    if comparisons.empty:
        return pd.DataFrame(columns=cols)
    rows = [{"protocol": p, "quantity": q, "controlled": bool(g["controlled"].iloc[0]), **_tally(g), **_pooled(g)}
            for (p, q), g in comparisons.groupby(["protocol", "quantity"], sort=True)]
    return pd.DataFrame(rows, columns=cols)


def answer(comparisons: pd.DataFrame) -> str:
    """The study's question, answered in one paragraph from the comparisons that exist."""
    question = ("Does instruction tuning still improve brain alignment when OASM (passage-level "
                "autocorrelation) is controlled for?")
    comparisons = compared(comparisons)
    if comparisons.empty:
        return (f"{question} Cannot say: no instruction-tuned / vanilla pair has comparison arrays "
                "(comparison_<protocol>.npz beside result.json) in these results.")
    is_controlled = comparisons["controlled"].astype(bool)
    controlled, shuffle = comparisons[is_controlled], comparisons[~is_controlled]
    parts = [question]
    if len(shuffle):
        t = _tally(shuffle)
        parts.append(f"Uncontrolled (shuffled CV): instruction-tuned higher in {t['n_up']} of {t['n_pairs']} "
                     f"comparisons ({t['n_up_significant']} significantly, {t['n_down_significant']} significantly "
                     f"lower), mean difference {t['mean_difference']:+.4f}.")
    if controlled.empty:
        parts.append("Cannot say yet: no result under a controlled protocol (metric.cv=group or contiguous) or "
                     "with the banded metric's unique variance beyond the confounds.")
        return " ".join(parts)
    t = _tally(controlled)
    how = ", ".join(sorted({f"{p}/{q}" for p, q in zip(controlled["protocol"], controlled["quantity"])}))
    parts.append(f"Controlled ({how}): instruction-tuned higher in {t['n_up']} of {t['n_pairs']} comparisons "
                 f"({t['n_up_significant']} significantly at BH-adjusted p < {ALPHA}, {t['n_down_significant']} significantly "
                 f"lower), mean difference {t['mean_difference']:+.4f}.")
    if t["n_up_significant"] > t["n_pairs"] / 2 and t["n_down_significant"] == 0:
        verdict = "Yes: the improvement survives the control in most comparisons"
    elif t["n_up_significant"] == 0 and t["n_down_significant"] == 0:
        verdict = "Not shown: no comparison differs significantly once the confound is controlled"
    elif t["n_down_significant"] > t["n_up_significant"]:
        verdict = "No: under the control instruction tuning lowers alignment more often than it raises it"
    else:
        verdict = "Mixed: some comparisons improve significantly, most do not"
    parts.append(f"{verdict} (n = {t['n_pairs']} comparisons, {controlled['model'].nunique()} instruction-tuned "
                 f"models; pairs sharing a vanilla model are not independent).")
    return " ".join(parts)


def render(comparisons: pd.DataFrame) -> list[str]:
    """Report lines (Markdown) for the section."""
    from brainalign.analysis.markdown import md_table, p_text

    L = ["## Is it language? Instruction tuning with the confound controlled", "",
         "Paired comparison IT − vanilla per dataset and protocol (brainalign.metrics.compare): difference of the "
         "benchmark score, its 95 % interval and p. " + RULE + " Controlled = group or contiguous CV, or unique "
         "variance beyond the confounds (metric=banded).", "", answer(comparisons), ""]
    skipped = comparisons[comparisons["note"].notna()] if len(comparisons) else comparisons
    L += [f"- not compared: {r.model} vs {r.pair} on {r.dataset} ({r.protocol}): {r.note}" for r in skipped.itertuples()]
    L += [""] if len(skipped) else []
    comparisons = compared(comparisons)
    if comparisons.empty:
        return L
    L += [md_table(summarize(comparisons), index=False), ""]
    show = comparisons.assign(p=comparisons["p"].map(p_text), p_bh=comparisons["p_bh"].map(p_text))
    L += [md_table(show[["model", "pair", "dataset", "protocol", "quantity", "difference", "low", "high",
                         "p", "p_bh", "method", "n_subjects", "n_units", "n_stimuli"]], digits=4, index=False), ""]
    return L



def with_tests(changes: pd.DataFrame, comparisons: pd.DataFrame) -> pd.DataFrame:
    """pairs.csv's rows (IT model, measure) with each protocol's comparison beside them: the benchmark
    score's difference, its interval, p, p_bh and significant (columns `<what>_<protocol>`)."""
    done = compared(comparisons)
    if changes.empty or done.empty:
        return changes
    out = changes.copy()
    for protocol, g in done.groupby("protocol", sort=True):
        g = g.drop_duplicates(["model", "dataset"]).set_index(["model", "dataset"])
        keys = list(zip(out["model"], out["measure"]))
        for what in ("difference", "low", "high", "p", "p_bh", "significant"):
            out[f"{what}_{protocol}"] = [g[what].get(k) for k in keys]
    return out
