"""Size controls (issue 26): is brain alignment's link with model size and MMLU a link with hidden width?

A wider layer gives the linear map more columns to fit with, and width grows with the parameter
count. The study's correlations (brainalign/analysis/correlations.py) are shown three ways, for the
model sets all / instruction-tuned / vanilla (baselines and the brain-to-brain reference never enter):

* study: Pearson r of the brain score with the property over models, as the study computed it;
* partial: the partial correlation given log10 hidden width (both variables' residuals after a least
  squares fit on [1, log10 width]); p from Student's t with n - 3 degrees of freedom (exact for
  normal data), interval by Fisher's z with standard error 1 / sqrt(n - 4);
* fixed k: Pearson r of the score of results run with metric.n_components=k (each layer reduced to k
  features, brainalign/metrics/reduce.py) with the property: the map has k columns for every model.

Each row has n, r, its 95 % interval (Fisher z: 1 / sqrt(n - 3) for Pearson r) and two-sided p.
tests/test_size_controls.py checks the partial correlation's p and interval by simulation: under a null
where width drives both variables, it rejects about 5 % of the time, the plain r far more often.

Hidden width per model: `hidden_size` of its conf/model YAML, or the width key of its `architecture`
block (hidden_size, n_embd or d_model) where that block exists.
"""

import json
import math

import numpy as np
import pandas as pd
from scipy import stats

from brainalign.analysis.correlations import model_sets

PROPERTIES = ("log10_params", "mmlu")
SETS = ("all", "instruction-tuned", "vanilla")
WIDTH_KEYS = ("hidden_size", "n_embd", "d_model")
Z95 = stats.norm.ppf(0.975)
COLUMNS = ["measure", "property", "model_set", "way", "n", "r", "ci_low", "ci_high", "p", "interval", "models"]


def hidden_widths(configs: dict) -> pd.Series:
    """model -> hidden width, from each model config (NaN where it says none)."""
    out = {}
    for name, cfg in configs.items():
        arch = cfg.get("architecture") or {}
        found = [cfg.get("hidden_size")] + [arch.get(k) for k in WIDTH_KEYS]
        out[name] = next((float(v) for v in found if v), math.nan)
    return pd.Series(out, dtype=float)


def residuals(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """y minus its least-squares fit on [1, z]."""
    design = np.column_stack([np.ones_like(z), z])
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


def significance(r: float, n: int, controls: int = 0) -> tuple[float, float, float]:
    """(two-sided p, interval low, high) of a (partial) Pearson r from n observations given `controls` variables."""
    df = n - 2 - controls
    if df < 1 or not np.isfinite(r):
        return math.nan, math.nan, math.nan
    r = float(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    t = r * math.sqrt(df / (1 - r * r))
    p = 2 * stats.t.sf(abs(t), df)
    if n - 3 - controls < 1:
        return float(p), math.nan, math.nan
    half = Z95 / math.sqrt(n - 3 - controls)
    return float(p), math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def partial_r(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Pearson r of x and y given z (one control)."""
    rx, ry = residuals(x, z), residuals(y, z)
    return float(np.sum(rx * ry) / math.sqrt(np.sum(rx * rx) * np.sum(ry * ry)))


def _row(measure, prop, set_name, way, names, r, controls):
    p, low, high = significance(r, len(names), controls)
    return {"measure": measure, "property": prop, "model_set": set_name, "way": way, "n": len(names), "r": r,
            "ci_low": low, "ci_high": high, "p": p, "interval": "Fisher z", "models": ", ".join(names)}


def fixed_k(datasets: pd.DataFrame, column: str):
    """k of a result column run with metric.n_components=k, or None."""
    if column not in datasets.index or "settings" not in datasets:
        return None
    try:
        return (json.loads(datasets.loc[column, "settings"]).get("metric") or {}).get("n_components")
    except (TypeError, ValueError):
        return None


def size_controls(wide: pd.DataFrame, props: pd.DataFrame, models: pd.DataFrame, widths: pd.Series,
                  datasets: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """The long table (COLUMNS): each brain measure x property x model set, study / partial / fixed k."""
    if models.empty:
        return pd.DataFrame(columns=COLUMNS)
    language = models[models["family"].astype(str) != "baseline"]
    sets = {k: v for k, v in model_sets(language).items() if k in SETS}
    rows = []
    for measure in [m for m in measures if m in wide]:
        k = fixed_k(datasets, measure)
        for prop in [p for p in PROPERTIES if p in props]:
            for set_name, members in sets.items():
                names = [m for m in members if m in wide.index and m in props.index
                         and np.isfinite(float(wide.loc[m, measure])) and np.isfinite(float(props.loc[m, prop]))]
                x = props.loc[names, prop].to_numpy(float)
                y = wide.loc[names, measure].to_numpy(float)
                if len(names) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
                    continue
                r = float(stats.pearsonr(x, y).statistic)
                rows.append(_row(measure, prop, set_name, f"fixed k={k}" if k else "study", names, r, 0))
                if k:
                    continue
                sized = [m for m in names if np.isfinite(widths.get(m, math.nan))]
                z = np.log10(widths.loc[sized].to_numpy(float))
                if len(sized) >= 4 and np.ptp(z) > 0:
                    xs, ys = props.loc[sized, prop].to_numpy(float), wide.loc[sized, measure].to_numpy(float)
                    rows.append(_row(measure, prop, set_name, "partial: log10 width", sized, partial_r(xs, ys, z), 1))
    return pd.DataFrame(rows, columns=COLUMNS)


def report_lines(ctx: dict) -> list[str]:
    """The report's sections: the brain-to-brain reference row, and the size controls of the headline measure."""
    from brainalign.analysis.markdown import md_table
    from brainalign.benchmarks.brain_reference import MODEL

    wide, lines = ctx["wide"], []
    brain = [m for m in ctx["measures"] if m in wide and m not in ctx["behavior_measures"]]
    if MODEL in wide.index and brain:
        lines += ["## Brain-to-brain reference", "",
                  "Each subject predicted from the other subjects' responses with the same metric and protocol "
                  "(model=brain-to-brain, docs/controls.md): what a model could reach on these data.", "",
                  md_table(wide.loc[[MODEL], brain]), ""]
    sizes = ctx.get("size_controls")
    if sizes is not None and len(sizes):
        shown = sizes[sizes["model_set"].isin(["all", "instruction-tuned"])]
        lines += ["## Size controls", "",
                  "Brain score vs log10 parameters and MMLU three ways: as the study (Pearson r), as a partial "
                  "correlation given log10 hidden width, and with every layer reduced to k features "
                  "(metric.n_components=k). 95 % intervals by Fisher z; all rows in size_controls.csv.", "",
                  md_table(shown.drop(columns=["models", "interval"]), index=False), ""]
    return lines
