"""The study's two claims under the controls (issue 26, docs/controls.md).

Claim 1: instruction tuning raises brain alignment (mean IT - vanilla over pairs). Claim 2: alignment
grows with model size (log10 parameters) and with MMLU (Pearson r over the instruction-tuned models).
Each is recomputed, per brain dataset, from the scores each control gives:

* the study's protocol: a column scored as the study did (shuffled CV, every feature, no confound band);
* a column scored otherwise, named by how its settings differ: `<protocol> CV` (metric.cv's first
  protocol), `unique variance beyond <bands>` (metric=banded), `fixed k=<k>` (metric.n_components);
  a study column's results scored under more protocols (metric.cv=[shuffle,group]) give `<protocol> CV`
  too, each protocol at its own best layer;
* `minus untrained`: each model's trained minus untrained score (brainalign.analysis.untrained; an IT
  model is set against its base's untrained runs when it has none of its own);
* `perturbed: <name>`: the scores on perturbed text (brainalign.analysis.perturbations; claim 1 only);
* `partial: log10 width` (claim 2 only): the partial r given log10 hidden width (size_controls).

Claim 1 rows: n pairs, the mean change, its 95 % t interval (the unit is the model pair; pairs that share
a vanilla model are not independent), p of the paired t-test and of the Wilcoxon signed-rank test, and
the mean change in % of the vanilla score (for `minus untrained`: of the vanilla model's trained minus
untrained score). Claim 2 rows: n models, r, its 95 % Fisher-z interval and p (size_controls.significance).
A control without results is a row saying "no results". A control's row `survives` when its p is below
0.05 (claim 1: the t-test) and its sign is the study row's, on the same dataset (and property).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from brainalign.analysis.collect import value_at
from brainalign.analysis.correlations import model_sets
from brainalign.analysis.figures import mean_interval
from brainalign.analysis.pairs import pair_of, paired_tests
from brainalign.analysis.properties import LABELS
from brainalign.analysis.size_controls import partial_r, significance

ALPHA = 0.05
STUDY = "the study's protocol"
UNTRAINED = "minus untrained"
PARTIAL = "partial: log10 width"
PROPERTIES = ("log10_params", "mmlu")
# (what a row's control must contain to count as it, the row shown when none does)
EXPECTED_1 = (("group CV", "group CV"), ("unique variance", "unique variance (metric=banded)"),
              ("fixed k", "fixed k (metric.n_components)"), (UNTRAINED, UNTRAINED),
              ("perturbed", "perturbed text (dataset.perturb)"))
EXPECTED_2 = ((PARTIAL, PARTIAL), ("fixed k", "fixed k (metric.n_components)"), (UNTRAINED, UNTRAINED))
COLUMNS_1 = ["dataset", "control", "column", "n_pairs", "mean_delta", "ci_low", "ci_high", "p_t", "p_wilcoxon",
             "mean_pct", "survives", "note"]
COLUMNS_2 = ["dataset", "property", "control", "column", "n", "r", "ci_low", "ci_high", "p", "survives", "note"]


def column_control(settings: dict) -> str:
    """How a dataset column's metric settings differ from the study's protocol (STUDY when they do not)."""
    metric = (settings or {}).get("metric") or {}
    cv = metric.get("cv")
    first = cv if isinstance(cv, str) else (cv[0] if cv else None)
    parts = []
    if metric.get("kind") == "banded":
        parts.append("unique variance beyond " + ", ".join(metric.get("confounds") or []))
    if first and first != "shuffle":
        parts.append(f"{first} CV")
    if metric.get("n_components"):
        rp = " (random projection)" if metric.get("reduce") == "random-projection" else ""
        parts.append(f"fixed k={metric['n_components']}{rp}")
    return "; ".join(parts) or STUDY


def sources(col) -> list[tuple[str, str, str, pd.Series]]:
    """(dataset, control, column, model -> score) of every brain dataset column and every extra protocol."""
    if col.rows.empty:
        return []
    wide, out = col.table(), []
    for label, d in col.datasets.iterrows():
        if d["kind"] != "brain":
            continue
        control = column_control(json.loads(d["settings"]))
        out.append((d["base_dataset"], control, label, wide[label].dropna().astype(float)))
        if control == STUDY:
            for protocol, values in _other_protocols(col, label).items():
                out.append((d["base_dataset"], f"{protocol} CV", label, values))
    return out


def _other_protocols(col, label: str) -> dict[str, pd.Series]:
    """protocol -> model -> score, of the protocols a column's results hold beyond their first."""
    found: dict[str, dict] = {}
    for row in col.rows[col.rows["dataset"] == label].itertuples():
        result = json.loads(Path(row.path).read_text())
        for protocol, scores in list((result.get("protocols") or {}).items())[1:]:
            raw, ceiled, _, _ = value_at(scores, col.layer, row.layer, col.score)
            found.setdefault(protocol, {})[row.model] = raw if col.score == "raw" else ceiled
    return {p: pd.Series(v, dtype=float).dropna() for p, v in found.items()}


def study_columns(found) -> dict[str, str]:
    """dataset -> its study column (the one with the most models where there are several)."""
    best: dict[str, tuple[int, str]] = {}
    for dataset, control, column, values in found:
        if control == STUDY and len(values) > best.get(dataset, (-1, ""))[0]:
            best[dataset] = (len(values), column)
    return {d: c for d, (_, c) in best.items()}


def pair_deltas(models: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """One row per IT model with a vanilla pair, both scored: delta = IT - vanilla, and the vanilla score."""
    rows = []
    for name in values.index:
        pair = pair_of(models, name) if name in models.index and bool(models.loc[name, "instruction_tuned"]) else None
        if pair in values.index:
            rows.append({"model": name, "pair": pair, "delta": values[name] - values[pair], "vanilla": values[pair]})
    return pd.DataFrame(rows, columns=["model", "pair", "delta", "vanilla"])


def gain_row(dataset, control, column, deltas: pd.DataFrame) -> dict:
    """Claim 1 under one control: mean change over pairs, t interval over pairs, paired tests."""
    d = deltas["delta"].to_numpy(float)
    row = {"dataset": dataset, "control": control, "column": column, "n_pairs": len(d)}
    if not len(d):
        return {**row, "note": "no pairs with both scores"}
    mean, half = float(d.mean()), mean_interval(d)
    tests = paired_tests(d)
    vanilla = deltas["vanilla"].to_numpy(float)
    pct = 100 * d[vanilla != 0] / vanilla[vanilla != 0]
    return {**row, "mean_delta": mean, "ci_low": mean - half, "ci_high": mean + half, "p_t": tests["p_t"],
            "p_wilcoxon": tests["p_wilcoxon"], "mean_pct": float(pct.mean()) if len(pct) else math.nan, "note": ""}


def r_row(dataset, prop, control, column, x: pd.Series, y: pd.Series, width: pd.Series | None = None) -> dict:
    """Claim 2 under one control: r of y with x over the models that have both (partial on log10 width if given)."""
    names = [m for m in y.index if m in x.index and np.isfinite(x[m]) and np.isfinite(y[m])
             and (width is None or np.isfinite(width.get(m, math.nan)))]
    row = {"dataset": dataset, "property": prop, "control": control, "column": column, "n": len(names)}
    xs, ys = x[names].to_numpy(float), y[names].to_numpy(float)
    controls = 0 if width is None else 1
    if len(names) < 3 + controls or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return {**row, "note": f"fewer than {3 + controls} models with both numbers" + (" and a width" if controls else "")}
    if width is None:
        r = float(stats.pearsonr(xs, ys).statistic)
    else:
        r = partial_r(xs, ys, np.log10(width[names].to_numpy(float)))
    p, low, high = significance(r, len(names), controls)
    return {**row, "r": r, "ci_low": low, "ci_high": high, "p": p, "note": ""}


def tables(col, props: pd.DataFrame, widths: pd.Series, untrained_table: pd.DataFrame,
           perturbed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claim 1 table, claim 2 table); `untrained_table` is untrained.deltas(col), `perturbed`
    perturbations.compare(col)[0]."""
    found = sources(col)
    study = study_columns(found)
    models = col.models
    language = models[models["family"].astype(str) != "baseline"] if len(models) else models
    it = model_sets(language).get("instruction-tuned", []) if len(language) else []
    extra = []   # (dataset, control, column, values, claim 2 too)
    for dataset, column in study.items():
        u = untrained_table[untrained_table["dataset"] == column]
        if len(u):
            extra.append((dataset, UNTRAINED, column, u.set_index("model")["delta"].astype(float), True))
        p = perturbed[perturbed["dataset"] == column] if len(perturbed) else perturbed
        for name, g in (p.groupby("perturb") if len(p) else ()):
            extra.append((dataset, f"perturbed: {name}", column, g.set_index("model")["perturbed"].astype(float).dropna(),
                          False))
    rows1, rows2 = [], []
    for dataset, control, column, values, claim2 in [(*f, True) for f in found] + extra:
        rows1.append(gain_row(dataset, control, column, pair_deltas(models, values)))
        if not claim2:
            continue
        for prop in [q for q in PROPERTIES if q in props]:
            y = values[[m for m in values.index if m in it]]
            rows2.append(r_row(dataset, prop, control, column, props[prop], y))
            if control == STUDY and column == study.get(dataset):
                rows2.append(r_row(dataset, prop, PARTIAL, column, props[prop], y, widths))
    t1 = _judge(pd.DataFrame(rows1, columns=COLUMNS_1), study, EXPECTED_1, "p_t", "mean_delta", ["dataset"])
    t2 = _judge(pd.DataFrame(rows2, columns=COLUMNS_2), study, EXPECTED_2, "p", "r", ["dataset", "property"])
    return t1, t2


def _judge(table: pd.DataFrame, study: dict, expected, p: str, effect: str, keys: list) -> pd.DataFrame:
    """Add a "no results" row for each expected control a dataset lacks, and each row's `survives`."""
    missing = []
    for dataset in study:
        for extra_key in (sorted(set(table.loc[table["dataset"] == dataset, keys[-1]])) if len(keys) > 1 else [None]):
            have = table[(table["dataset"] == dataset) & ((table[keys[-1]] == extra_key) if extra_key else True)]
            for token, shown in expected:
                if not have["control"].str.contains(token, regex=False).any():
                    missing.append({"dataset": dataset, **({keys[-1]: extra_key} if extra_key else {}),
                                    "control": shown, "note": "no results"})
    table = pd.concat([table, pd.DataFrame(missing, columns=table.columns)], ignore_index=True) if missing else table
    base = {}
    for row in table[table["control"] == STUDY].itertuples():
        if row.column == study.get(row.dataset):
            base[tuple(getattr(row, k) for k in keys)] = row
    verdicts = []
    for row in table.itertuples():
        ref = base.get(tuple(getattr(row, k) for k in keys))
        significant = pd.notna(getattr(row, p)) and getattr(row, p) < ALPHA
        same = ref is not None and pd.notna(getattr(ref, effect)) and np.sign(getattr(row, effect)) == np.sign(getattr(ref, effect))
        verdicts.append("n/a" if row.note or ref is None else "yes" if significant and same else "no")
    table = table.assign(survives=verdicts, _rank=table["control"].map(_rank))
    return table.sort_values([*keys, "_rank"], kind="stable").drop(columns="_rank").reset_index(drop=True)


def _rank(control: str) -> int:
    """Where a control's rows go: the study first, then the controls in the order docs/controls.md gives."""
    order = (STUDY, PARTIAL, " CV", "unique variance", "fixed k", UNTRAINED, "perturbed")
    return next((i for i, token in enumerate(order) if token in str(control)), len(order))


def sentences(t1: pd.DataFrame, t2: pd.DataFrame) -> list[str]:
    """One sentence per claim (and dataset, property): which controls it survives, from the tables."""
    lines = []
    for dataset, g in t1.groupby("dataset", sort=False):
        lines.append(_sentence(f"Claim 1 (instruction tuning raises alignment) on {dataset}", g, "p_t", "mean_delta",
                               "mean IT − vanilla"))
    for (dataset, prop), g in t2.groupby(["dataset", "property"], sort=False):
        lines.append(_sentence(f"Claim 2 (alignment grows with {LABELS.get(prop, prop)}) on {dataset}", g, "p", "r",
                               "r"))
    return lines


def _sentence(claim: str, g: pd.DataFrame, p: str, effect: str, what: str) -> str:
    ref = g[(g["control"] == STUDY) & (g["survives"] != "n/a")]
    if ref.empty:
        return f"- {claim}: no result under the study's protocol, so nothing to test."
    ref = ref.iloc[0]
    head = f"- {claim}: under the study's protocol {what} = {ref[effect]:+.3f} (p = {ref[p]:.2g}, {_n(ref)})"
    if ref["survives"] != "yes":
        return head + "; not significant there, so the controls have no claim to test."
    others = g[g["control"] != STUDY]
    kept = list(others.loc[others["survives"] == "yes", "control"])
    lost = [f"{r['control']} ({what} = {r[effect]:+.3f}, p = {r[p]:.2g})" for _, r in
            others[others["survives"] == "no"].iterrows()]
    absent = sorted(set(others.loc[others["note"] == "no results", "control"]))
    parts = [f"survives {', '.join(kept)}" if kept else "survives no control"]
    parts += [f"does not survive {'; '.join(lost)}"] if lost else []
    parts += [f"untested (no results): {', '.join(absent)}"] if absent else []
    return head + "; it " + "; ".join(parts) + "."


def _n(row) -> str:
    return f"n = {int(row['n_pairs'])} pairs" if "n_pairs" in row else f"n = {int(row['n'])} models"


def render(t1: pd.DataFrame, t2: pd.DataFrame) -> list[str]:
    """The report's section "The study's claims under controls"."""
    from brainalign.analysis.markdown import md_table

    if t1.empty and t2.empty:
        return []
    show1 = t1.assign(p_t=t1["p_t"].map(_p), p_wilcoxon=t1["p_wilcoxon"].map(_p))
    show2 = t2.assign(p=t2["p"].map(_p))
    return ["## The study's claims under controls", "",
            "Each claim recomputed per brain dataset under each control (docs/controls.md). Claim 1: mean "
            "IT − vanilla over pairs, 95 % t interval over pairs (the unit is the model pair; pairs sharing a "
            "vanilla model are not independent), paired t-test and Wilcoxon p. Claim 2: Pearson r over the "
            "instruction-tuned models, 95 % Fisher-z interval, p. `survives`: p < 0.05 (claim 1: t-test) with "
            "the sign of the study's protocol on the same dataset. Tables: claims_tuning.csv, claims_size.csv.", "",
            *sentences(t1, t2), "", "Claim 1: instruction tuning raises brain alignment", "",
            md_table(show1, digits=4, index=False), "Claim 2: brain alignment grows with log size and MMLU", "",
            md_table(show2, digits=3, index=False)]


def _p(p) -> str:
    return "" if p is None or not math.isfinite(p) else f"{p:.2g}"
