"""PNG figures of the analysis (matplotlib, no display): scores, pair changes, scatter plots with fits."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.analysis.properties import LABELS

FAMILY_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(models: pd.DataFrame) -> dict[str, str]:
    fams = sorted(models["family"].dropna().astype(str).unique())
    return {f: FAMILY_COLORS[i % len(FAMILY_COLORS)] for i, f in enumerate(fams)}


def _order(models: pd.DataFrame, names) -> list[str]:
    """Family, then size, then vanilla before its instruction-tuned models."""
    m = models.reindex(list(names))
    key = lambda n: (str(m.loc[n, "family"]), float(m.loc[n, "params"] or 0), bool(m.loc[n, "instruction_tuned"]), n)
    return sorted(names, key=key)


def scores(wide: pd.DataFrame, mad: pd.DataFrame, models: pd.DataFrame, measures: list[str], path: Path,
           score_label: str) -> Path | None:
    """One panel per measure: a bar per model, error bar = MAD over participants where known."""
    measures = [m for m in measures if m in wide and wide[m].notna().any()]
    if not measures:
        return None
    plt = _plt()
    names = _order(models, [n for n in wide.index if wide.loc[n, measures].notna().any()])
    colors = _colors(models)
    fig, axes = plt.subplots(1, len(measures), figsize=(3.2 * len(measures) + 1.5, 0.22 * len(names) + 1.5),
                             sharey=True, squeeze=False)
    y = np.arange(len(names))
    for ax, m in zip(axes[0], measures):
        vals = wide.reindex(names)[m].to_numpy(float)
        err = mad.reindex(names)[m].to_numpy(float) if m in mad else np.full(len(names), np.nan)
        it = models.reindex(names)["instruction_tuned"].fillna(False).astype(bool).to_numpy()
        from matplotlib.colors import to_rgba

        col = [to_rgba(colors.get(str(models.loc[n, "family"]), "grey"), 1.0 if i else 0.4) for n, i in zip(names, it)]
        ax.barh(y, np.nan_to_num(vals), xerr=np.where(np.isfinite(err), err, 0), color=col,
                edgecolor="black", linewidth=0.3, error_kw={"linewidth": 0.8})
        ax.set_title(m, fontsize=9)
        ax.set_xlabel(score_label, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_yticks(y, names)
    axes[0][0].invert_yaxis()
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=f"{f}, instruction-tuned") for f, c in colors.items()]
    handles += [Patch(color=to_rgba(c, 0.4), label=f"{f}, vanilla") for f, c in colors.items()]
    axes[0][-1].legend(handles=handles, fontsize=6, frameon=False, loc="lower right")
    fig.suptitle("Alignment per model (pale = vanilla; error bars: MAD over participants where per-participant "
                 "scores exist)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def pair_changes(changes: pd.DataFrame, models: pd.DataFrame, measures: list[str], path: Path, title: str) -> Path | None:
    """Percent change IT vs its vanilla pair: a dot per pair, a bar at the mean (the study's Fig. 1B/1C)."""
    measures = [m for m in measures if m in set(changes["measure"])]
    if not measures:
        return None
    plt = _plt()
    colors = _colors(models)
    fig, ax = plt.subplots(figsize=(max(1.6 * len(measures) + 2, 5.0), 3.6))
    rng = np.random.default_rng(0)
    for i, m in enumerate(measures):
        g = changes[changes["measure"] == m]
        ax.bar(i, g["pct"].mean(), color="lightgrey", edgecolor="black", width=0.6)
        jitter = rng.uniform(-0.18, 0.18, len(g))
        ax.scatter(i + jitter, g["pct"], s=14, zorder=3,
                   c=[colors.get(str(f), "grey") for f in g["family"]])
        for x, yv, name in zip(i + jitter, g["pct"], g["model"] if "model" in g else [""] * len(g)):
            ax.annotate(str(name), (x, yv), fontsize=5, xytext=(3, 0), textcoords="offset points", va="center")
        ax.text(i, 1.01, f"{g['pct'].mean():+.1f}% (n={len(g)})", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(measures)), measures, fontsize=8)
    ax.set_ylabel("change vs vanilla pair (%)")
    ax.set_title(title, fontsize=9, pad=16)
    for fam, c in colors.items():
        ax.scatter([], [], c=c, s=14, label=fam)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def scatter_panels(scores: pd.DataFrame, props: pd.DataFrame, models: pd.DataFrame, corr: pd.DataFrame,
                   measure: str, panels: list[tuple[str, str]], path: Path, title: str) -> Path | None:
    """Scatter of `measure` against each (property, model set) with its least-squares line, r, p, n."""
    from brainalign.analysis.correlations import stars

    rows = []
    for prop, set_name in panels:
        hit = corr[(corr["measure"] == measure) & (corr["property"] == prop) & (corr["model_set"] == set_name)]
        if not hit.empty and hit.iloc[0]["n"] >= 3 and math.isfinite(hit.iloc[0]["r"]):
            rows.append(hit.iloc[0])
    if not rows:
        return None
    plt = _plt()
    colors = _colors(models)
    fig, axes = plt.subplots(1, len(rows), figsize=(3.3 * len(rows), 3.2), squeeze=False)
    for ax, row in zip(axes[0], rows):
        names = row["models"].split(", ")
        x = props.loc[names, row["property"]].to_numpy(float)
        y = scores.loc[names, measure].to_numpy(float)
        it = models.loc[names, "instruction_tuned"].fillna(False).astype(bool).to_numpy()
        c = np.array([colors.get(str(models.loc[n, "family"]), "grey") for n in names], dtype=object)
        ax.scatter(x[it], y[it], s=18, marker="o", facecolors=list(c[it]), edgecolors=list(c[it]))
        ax.scatter(x[~it], y[~it], s=18, marker="s", facecolors="none", edgecolors=list(c[~it]))
        for xi, yi, n in zip(x, y, names):
            ax.annotate(n, (xi, yi), fontsize=5, xytext=(3, 2), textcoords="offset points")
        slope, intercept = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 50)
        ax.plot(xs, slope * xs + intercept, color="black", linewidth=1)
        p_show = row["p_fdr"] if math.isfinite(row["p_fdr"]) else row["p"]
        ax.set_title(f"r = {row['r']:.3f}, p{'(FDR)' if math.isfinite(row['p_fdr']) else ''} = {p_show:.2g} "
                     f"{stars(p_show)}\nn = {row['n']} ({row['model_set']})", fontsize=8)
        ax.set_xlabel(LABELS.get(row["property"], row["property"]), fontsize=8)
        ax.set_ylabel(measure, fontsize=8)
        ax.tick_params(labelsize=7)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f"{f} (colour)") for f, c in colors.items()]
    handles.append(Line2D([], [], marker="o", linestyle="", color="grey", label="instruction-tuned (filled circle)"))
    handles.append(Line2D([], [], marker="s", linestyle="", markerfacecolor="none", color="grey",
                          label="vanilla (open square)"))
    axes[0][0].legend(handles=handles, fontsize=7, frameon=False)
    fig.suptitle(title + " (filled: instruction-tuned)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
