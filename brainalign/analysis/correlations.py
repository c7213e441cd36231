"""Pearson correlations of alignment with model properties, per set of models, with BH-FDR.

For every measure (brain alignment per dataset and averaged, behavioral alignment) x property
(log10 parameter count, MMLU / BBH overall and per category, NWP loss) x set of models (all,
instruction-tuned, vanilla; each also per family), the models that have both numbers enter: n, r, p
(two-sided, scipy.stats.pearsonr) and the list of models. Models of the set without the property are
listed too. Benjamini-Hochberg FDR adjusts p across the benchmark categories (MMLU and BBH, overall and
per category: the 11 rows of the study's Table 2) within each measure and set.
"""

import math

import numpy as np
import pandas as pd
from scipy import stats

from brainalign.analysis.properties import BENCHMARK_PROPERTIES, PROPERTIES

MIN_N = 3


def model_sets(models: pd.DataFrame) -> dict[str, list[str]]:
    """'all', 'instruction-tuned', 'vanilla', and each of them within a family ('instruction-tuned/t5', ...)."""
    it = models["instruction_tuned"].fillna(False).astype(bool)
    vanilla = ~it & (models["family"].astype(str) != "baseline")   # a baseline (OASM) is no vanilla language model
    sets = {"all": list(models.index), "instruction-tuned": list(models.index[it]),
            "vanilla": list(models.index[vanilla])}
    for family in sorted(models["family"].dropna().astype(str).unique()):
        fam = models["family"].astype(str) == family
        sets[f"all/{family}"] = list(models.index[fam])
        sets[f"instruction-tuned/{family}"] = list(models.index[fam & it])
        sets[f"vanilla/{family}"] = list(models.index[fam & vanilla])
    return {k: v for k, v in sets.items() if v}


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN); scipy.stats.false_discovery_control."""
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def correlate(scores: pd.DataFrame, props: pd.DataFrame, models: pd.DataFrame, measures: list[str],
              properties=PROPERTIES) -> pd.DataFrame:
    """Long table: measure, property, model_set, n, r, p, p_fdr, models, missing_property, missing_score."""
    rows = []
    for set_name, members in model_sets(models).items():
        for measure in measures:
            if measure not in scores:
                continue
            for prop in properties:
                have_score = [m for m in members if m in scores.index and pd.notna(scores.loc[m, measure])]
                if not have_score:
                    continue
                have_prop = [m for m in members if m in props.index and pd.notna(props.loc[m, prop])] if prop in props else []
                both = [m for m in have_score if m in have_prop]
                row = {"measure": measure, "property": prop, "model_set": set_name, "n": len(both),
                       "r": math.nan, "p": math.nan, "models": ", ".join(both),
                       "missing_property": ", ".join(m for m in have_score if m not in have_prop),
                       "missing_score": ", ".join(m for m in have_prop if m not in have_score)}
                x = np.array([props.loc[m, prop] for m in both], float)
                y = np.array([scores.loc[m, measure] for m in both], float)
                if len(both) >= MIN_N and np.ptp(x) > 0 and np.ptp(y) > 0:
                    res = stats.pearsonr(x, y)
                    row["r"], row["p"] = float(res.statistic), float(res.pvalue)
                rows.append(row)
    df = pd.DataFrame(rows, columns=["measure", "property", "model_set", "n", "r", "p", "models",
                                     "missing_property", "missing_score"])
    df.insert(6, "p_fdr", math.nan)
    df.insert(7, "fdr_family", "")
    bench = df["property"].isin(BENCHMARK_PROPERTIES)
    for _, idx in df[bench].groupby(["measure", "model_set"]).groups.items():
        p = df.loc[idx, "p"].to_numpy()
        df.loc[idx, "p_fdr"] = bh_adjust(p)
        df.loc[idx, "fdr_family"] = f"{int(np.isfinite(p).sum())} benchmark categories"
    return df


def stars(p: float) -> str:
    """The study's convention: n.s. p > 0.05, * p < 0.05, ** p < 0.005, *** p < 0.0005."""
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 5e-4 else "**" if p < 5e-3 else "*" if p < 0.05 else "n.s."
