"""The analysis' closer looks (each a 300 dpi PNG and a PDF): instruction-tuned against vanilla score per
pair, every participant's score per model, and surprisal against reading time per word."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.analysis.figures import BASELINE, _colors, _order, _plt, _save, mean_interval

MAX_PANELS = 6


def _pairs(models: pd.DataFrame) -> list[tuple[str, str]]:
    """(instruction-tuned, its vanilla) for every instruction-tuned model whose pair was scored."""
    it = models["instruction_tuned"].fillna(False).astype(bool)
    return [(n, str(models.loc[n, "pair"])) for n in models.index[it] if models.loc[n, "pair"] in models.index]


def pair_scatter(wide: pd.DataFrame, mad: pd.DataFrame, models: pd.DataFrame, measures: list[str], path: Path,
                 score_label: str) -> Path | None:
    """A dot per IT/vanilla pair: vanilla score (x) against the instruction-tuned one (y), bars the MAD over
    participants of each, the identity line: a dot above it is a pair that instruction tuning raised."""
    pairs = [(i, v) for i, v in _pairs(models) if i in wide.index and v in wide.index]
    measures = [m for m in measures if m in wide.columns and any(np.isfinite(wide.loc[[i, v], m]).all()
                                                                  for i, v in pairs)]
    if not pairs or not measures:
        return None
    plt = _plt()
    colors = _colors(models.loc[[i for i, _ in pairs]])
    fig, axes = plt.subplots(1, len(measures), figsize=(3.0 * len(measures) + 1.6, 3.3), squeeze=False)
    for ax, m in zip(axes[0], measures):
        for it, vanilla in pairs:
            x, y = wide.loc[vanilla, m], wide.loc[it, m]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            xerr = mad.loc[vanilla, m] if m in mad.columns and vanilla in mad.index else np.nan
            yerr = mad.loc[it, m] if m in mad.columns and it in mad.index else np.nan
            ax.errorbar(x, y, xerr=None if not np.isfinite(xerr) else xerr, yerr=None if not np.isfinite(yerr) else yerr,
                        fmt="o", markersize=4, color=colors.get(str(models.loc[it, "family"]), "grey"),
                        ecolor="lightgrey", elinewidth=0.8, capsize=0)
        low, high = ax.get_xlim()[0], ax.get_xlim()[1]
        low, high = min(low, ax.get_ylim()[0]), max(high, ax.get_ylim()[1])
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.set_title(m)
        ax.set_xlabel(f"vanilla model, {score_label}")
    axes[0][0].set_ylabel(f"instruction-tuned model,\n{score_label}")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f"{fam} pair") for fam, c in colors.items()]
    handles.append(Line2D([], [], color="black", linestyle="--", label="no change (identity)"))
    handles.append(Line2D([], [], color="lightgrey", label="MAD over participants"))
    axes[0][-1].legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Instruction-tuned vs vanilla, pair by pair")
    fig.tight_layout()
    return _save(fig, path)


def subject_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """(dataset, model, subject, value) of every brain result's per-participant scores (raw r)."""
    out = []
    for row in rows[rows["kind"] == "brain"].itertuples():
        per_subject = json.loads(Path(row.path).read_text()).get("per_subject") or {}
        out += [(row.dataset, row.model, str(s), float(v)) for s, v in per_subject.items()
                if isinstance(v, (int, float)) and math.isfinite(v)]
    return pd.DataFrame(out, columns=["dataset", "model", "subject", "value"])


def subject_dots(scores: pd.DataFrame, models: pd.DataFrame, path: Path) -> Path | None:
    """Every participant's best-layer score per model (dots), the mean over participants with its 95 % t
    interval (black): how much of a difference between models the participants agree on."""
    scores = scores[scores.groupby(["dataset", "model"])["subject"].transform("count") > 1]
    if scores.empty:
        return None
    plt = _plt()
    datasets = sorted(scores["dataset"].unique())
    colors = _colors(models.reindex(scores["model"].unique()))
    n_models = scores["model"].nunique()
    fig, axes = plt.subplots(len(datasets), 1, figsize=(max(4.5, 0.45 * n_models + 2.5), 2.6 * len(datasets)),
                             squeeze=False)
    rng = np.random.default_rng(0)
    for ax, dataset in zip(axes[:, 0], datasets):
        d = scores[scores["dataset"] == dataset]
        names = _order(models, list(d["model"].unique()))
        for i, name in enumerate(names):
            v = d[d["model"] == name]["value"].to_numpy()
            family = str(models.reindex([name])["family"].iloc[0])
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=9, alpha=0.7, linewidths=0,
                       color="grey" if family == BASELINE else colors.get(family, "grey"))
            half = mean_interval(v)
            ax.errorbar(i + 0.3, v.mean(), yerr=half if math.isfinite(half) else None, fmt="_", color="black",
                        markersize=10, capsize=2, elinewidth=1)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_ylabel("raw score per participant\n(Pearson r)")
        ax.set_title(f"{dataset}: {d['subject'].nunique()} participants")
    fig.suptitle("Participants' scores (dots) and their mean with its 95 % interval (black)")
    fig.tight_layout()
    return _save(fig, path)


def surprisal_tables(rows: pd.DataFrame) -> dict:
    """{model: per-word table (surprisal_bits, mean_rt)} of every reading-time result whose table is on disk."""
    tables = {}
    for row in rows[rows["kind"] == "behavior"].itertuples():
        file = json.loads(Path(row.path).read_text()).get("surprisal_file")
        if file and Path(file).is_file():
            table = pd.read_csv(file)
            if {"surprisal_bits", "mean_rt"} <= set(table.columns):
                tables[f"{row.model} ({row.dataset})"] = table
    return tables


def surprisal_hexbin(tables: dict, path: Path) -> Path | None:
    """Per word, the model's surprisal against the mean reading time (a hexbin: counts on a log scale)."""
    names = sorted(tables)[:MAX_PANELS]
    if not names:
        return None
    plt = _plt()
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol + 0.8, 3.0 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, names):
        t = tables[name][["surprisal_bits", "mean_rt"]].apply(pd.to_numeric, errors="coerce").dropna()
        cells = ax.hexbin(t["surprisal_bits"], t["mean_rt"], gridsize=35, bins="log", cmap="viridis", mincnt=1)
        r = np.corrcoef(t["surprisal_bits"], t["mean_rt"])[0, 1] if len(t) > 2 else math.nan
        ax.set_title(f"{name}\nr = {r:.3f} over the {len(t):,} words shown")
        ax.set_xlabel("surprisal (bits)")
        ax.set_ylabel("mean reading time (ms)")
        fig.colorbar(cells, ax=ax, label="words (log)")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Surprisal against reading time, word by word")
    fig.tight_layout()
    return _save(fig, path)
