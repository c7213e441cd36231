"""Instruction-tuned vs vanilla, pair by pair, with intervals and p-values, under each protocol.

For every instruction-tuned model and its vanilla pair (the `pair:` of its config), on every dataset
column where both results kept comparison arrays (brainalign.metrics.compare), one paired comparison
per protocol: the difference IT - vanilla of the benchmark score, its 95 % bootstrap interval over
stimuli, p_bootstrap and the sign-flip p over subjects.

Then the study's question, asked again with the confound controlled (Hadidi et al. 2025 showed that
shuffled cross-validation over sentences of one passage rewards passage-level autocorrelation, which
a model without language, OASM, exploits): does instruction tuning still improve alignment under the
group / contiguous protocols, and in the variance a layer explains beyond OASM and the other
confounds (the banded metric's unique variance)? The answer is read off whatever results exist, with
the number of pairs it rests on.
"""

from pathlib import Path

import pandas as pd

from brainalign.analysis.pairs import pair_of
from brainalign.errors import DataMismatch
from brainalign.app.comparison_files import comparison_files, load_comparison_arrays
from brainalign.metrics.compare import compare_results

CONTROLLED = ("group", "contiguous")  # protocols that hold whole passages / stories out
UNIQUE = "unique_variance"
ALPHA = 0.05
COLUMNS = ["model", "pair", "dataset", "protocol", "quantity", "controlled", "it", "vanilla", "difference", "low",
           "high", "p_bootstrap", "p_permutation", "significant", "n_subjects", "n_stimuli", "n_neuroids", "note"]


def _arrays_of(path):
    """protocol -> comparison file of the result at `path` (its result.json)."""
    return comparison_files(Path(path).parent)


def paired(file_a, file_b, *, n_boot=1000, n_perm=10000, seed=0):
    """(arrays of a, comparison a - b) of two comparison_<protocol>.npz files, or (None, why) when the
    two results do not pair (other stimuli, splits, neuroids or benchmark parts)."""
    try:
        a = load_comparison_arrays(file_a)
        return a, compare_results(a, load_comparison_arrays(file_b), n_boot=n_boot, n_perm=n_perm, seed=seed)
    except DataMismatch as e:
        return None, f"not paired: {e}"


def compared(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The rows that were compared (those that did not pair carry a note instead)."""
    return comparisons[comparisons["note"].isna()] if len(comparisons) else comparisons


def pair_comparisons(rows: pd.DataFrame, models: pd.DataFrame, *, n_boot=1000, n_perm=10000, seed=0) -> pd.DataFrame:
    """One row per (IT model, dataset column, protocol) where both results have comparison arrays; a
    pair whose arrays do not line up gets a row with only its `note`.

    rows / models: Collected.rows and Collected.models (brainalign.analysis.collect)."""
    out = []
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    paths = {(r.model, r.dataset): r.path for r in rows.itertuples()}
    for name in models.index:
        pair = pair_of(models, name)
        if not bool(models.loc[name, "instruction_tuned"]) or pair is None:
            continue
        for (model, dataset), path in paths.items():
            if model != name or (pair, dataset) not in paths:
                continue
            mine, theirs = _arrays_of(path), _arrays_of(paths[(pair, dataset)])
            for protocol in sorted(set(mine) & set(theirs)):
                a, c = paired(mine[protocol], theirs[protocol], n_boot=n_boot, n_perm=n_perm, seed=seed)
                if a is None:
                    out.append({"model": name, "pair": pair, "dataset": dataset, "protocol": protocol,
                                "controlled": protocol in CONTROLLED, "significant": False, "note": c})
                    continue
                p = c.p_permutation if c.p_bootstrap is None else max(c.p_bootstrap, c.p_permutation or 0.0)
                out.append({"model": name, "pair": pair, "dataset": dataset, "protocol": protocol,
                            "quantity": a.quantity, "controlled": protocol in CONTROLLED or a.quantity == UNIQUE,
                            "it": c.score_a, "vanilla": c.score_b, "difference": c.difference, "low": c.low,
                            "high": c.high, "p_bootstrap": c.p_bootstrap, "p_permutation": c.p_permutation,
                            "significant": p is not None and p < ALPHA, "n_subjects": c.n_subjects,
                            "n_stimuli": c.n_stimuli, "n_neuroids": c.n_neuroids, "note": None})
    return pd.DataFrame(out, columns=COLUMNS)


def _tally(g: pd.DataFrame) -> dict:
    d = g["difference"]
    return {"n_pairs": len(g), "n_up": int((d > 0).sum()), "n_down": int((d < 0).sum()),
            "n_up_significant": int(((d > 0) & g["significant"]).sum()),
            "n_down_significant": int(((d < 0) & g["significant"]).sum()), "mean_difference": float(d.mean())}


def summarize(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and quantity: pairs, how many went up / down, how many of them significantly."""
    cols = ["protocol", "quantity", "controlled", "n_pairs", "n_up", "n_down", "n_up_significant",
            "n_down_significant", "mean_difference"]
    comparisons = compared(comparisons)
    if comparisons.empty:
        return pd.DataFrame(columns=cols)
    rows = [{"protocol": p, "quantity": q, "controlled": bool(g["controlled"].iloc[0]), **_tally(g)}
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
                 f"({t['n_up_significant']} significantly at p < {ALPHA}, {t['n_down_significant']} significantly "
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
         "benchmark score, 95 % bootstrap interval over test stimuli (same splits), p from that bootstrap and from "
         "a sign-flip permutation test over subjects; significant = both p < 0.05. Controlled = group or "
         "contiguous CV, or unique variance beyond the confounds (metric=banded).", "", answer(comparisons), ""]
    skipped = comparisons[comparisons["note"].notna()] if len(comparisons) else comparisons
    L += [f"- not compared: {r.model} vs {r.pair} on {r.dataset} ({r.protocol}): {r.note}" for r in skipped.itertuples()]
    L += [""] if len(skipped) else []
    comparisons = compared(comparisons)
    if comparisons.empty:
        return L
    L += [md_table(summarize(comparisons), index=False), ""]
    show = comparisons.assign(p_bootstrap=comparisons["p_bootstrap"].map(p_text),
                              p_permutation=comparisons["p_permutation"].map(p_text))
    L += [md_table(show[["model", "pair", "dataset", "protocol", "quantity", "difference", "low", "high",
                         "p_bootstrap", "p_permutation", "n_subjects", "n_stimuli"]], digits=4, index=False), ""]
    return L

