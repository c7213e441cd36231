"""Instruction-tuned models against their vanilla pair: per-pair change, mean change, paired tests.

Each instruction-tuned model is compared with the vanilla model its config names in `pair:` (the
study's pairing, Aw et al. 2024). Per pair: the change IT - vanilla and the change in percent of the
vanilla score. Per measure (a dataset column, the brain average, the behavioral score): the number of
pairs, how many went up / stayed equal / went down, the mean change, and two paired tests on the
changes: Student's paired t-test (scipy.stats.ttest_rel) and the Wilcoxon signed-rank test
(scipy.stats.wilcoxon; zero changes dropped; exact without ties, else the normal approximation). These
tests treat model pairs as the independent units and generalise over model pairs, not over subjects or
stimuli (each pair's own comparison, brainalign.analysis.significance, does that). Several IT models
share one vanilla model (five share t5-xl), so the pairs are not independent: read the p-values as
descriptive, as the study does.
"""

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats


def pair_of(models: pd.DataFrame, name: str):
    p = models.loc[name, "pair"] if name in models.index else None
    return None if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)


def unpaired(models: pd.DataFrame, wide: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Instruction-tuned models that enter no comparison, and why (nothing is dropped silently)."""
    rows = []
    for name in models.index:
        if not bool(models.loc[name, "instruction_tuned"]):
            continue
        pair = pair_of(models, name)
        if pair is None:
            rows.append({"model": name, "pair": None, "reason": "no vanilla pair in its config or result"})
        elif pair not in wide.index:
            rows.append({"model": name, "pair": pair, "reason": f"no results for its pair {pair}"})
        else:
            missing = [m for m in measures if m in wide and (pd.isna(wide.loc[name, m]) or pd.isna(wide.loc[pair, m]))]
            if missing:
                rows.append({"model": name, "pair": pair, "reason": f"not compared on {', '.join(missing)} (a score is missing)"})
    return pd.DataFrame(rows, columns=["model", "pair", "reason"])


def pair_changes(models: pd.DataFrame, wide: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """One row per (IT model, measure) with both scores present: it, vanilla, delta, pct."""
    rows = []
    for name in models.index:
        pair = pair_of(models, name)
        if not bool(models.loc[name, "instruction_tuned"]) or pair is None or pair not in wide.index or name not in wide.index:
            continue
        for m in measures:
            if m not in wide:
                continue
            it, van = wide.loc[name, m], wide.loc[pair, m]
            if pd.isna(it) or pd.isna(van):
                continue
            rows.append({"model": name, "pair": pair, "family": models.loc[name, "family"], "measure": m,
                         "it": float(it), "vanilla": float(van), "delta": float(it - van),
                         "pct": float(100 * (it - van) / van) if van != 0 else math.nan})
    return pd.DataFrame(rows, columns=["model", "pair", "family", "measure", "it", "vanilla", "delta", "pct"])


def paired_tests(delta: np.ndarray) -> dict:
    """t-test and Wilcoxon signed-rank test of the changes against 0 (two-sided)."""
    delta = np.asarray(delta, float)
    out = {"t": math.nan, "p_t": math.nan, "w": math.nan, "p_wilcoxon": math.nan, "wilcoxon_method": ""}
    if len(delta) >= 2 and np.std(delta) > 0:
        with warnings.catch_warnings():   # near-identical changes: scipy warns of precision loss
            warnings.simplefilter("ignore", RuntimeWarning)
            t = stats.ttest_1samp(delta, 0.0)   # = ttest_rel(it, vanilla)
        out["t"], out["p_t"] = float(t.statistic), float(t.pvalue)
    nonzero = delta[delta != 0]
    if len(nonzero) >= 2:
        # exact null distribution without ties; with tied |changes| the normal approximation with tie
        # correction (scipy's "auto" would run a slow permutation test there)
        ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
        method = "exact" if not ties and len(nonzero) <= 50 else "approx"
        w = stats.wilcoxon(nonzero, zero_method="wilcox", method=method)
        out["w"], out["p_wilcoxon"], out["wilcoxon_method"] = float(w.statistic), float(w.pvalue), method
    return out


def summarize(changes: pd.DataFrame, by_family: bool = True) -> pd.DataFrame:
    """Per measure (and per family): n pairs, up/tied/down, mean change and % change, paired tests."""
    rows = []
    groups = [("all", changes)]
    if by_family and not changes.empty:
        groups += [(str(f), g) for f, g in changes.groupby("family")]
    for family, g in groups:
        for measure, gm in g.groupby("measure", sort=False):
            d = gm["delta"].to_numpy()
            rows.append({"measure": measure, "family": family, "n_pairs": len(gm),
                         "n_up": int((d > 0).sum()), "n_tied": int((d == 0).sum()), "n_down": int((d < 0).sum()),
                         "mean_delta": float(d.mean()), "mean_pct": float(gm["pct"].mean()),
                         **paired_tests(d), "models": ", ".join(gm["model"])})
    return pd.DataFrame(rows, columns=["measure", "family", "n_pairs", "n_up", "n_tied", "n_down", "mean_delta",
                                       "mean_pct", "t", "p_t", "w", "p_wilcoxon", "wilcoxon_method", "models"])


def overall_gain(summary: pd.DataFrame, brain_columns: list[str]) -> float:
    """The study's headline gain (+6.2%): the mean over brain datasets of each dataset's mean % change
    (INFERRED from the study's numbers). NaN unless every brain dataset has pairs."""
    s = summary[(summary["family"] == "all") & summary["measure"].isin(brain_columns)]
    if not brain_columns or len(s) != len(brain_columns):
        return math.nan
    return float(s["mean_pct"].mean())
