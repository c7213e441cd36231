"""Figures of the analysis (matplotlib, no display; each a 300 dpi PNG and a PDF): scores, pair changes,
scatter plots with fits, per-layer curves of each instruction-tuned / vanilla pair."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.analysis.properties import LABELS
from brainalign.benchmarks.brain_reference import MODEL as REFERENCE   # drawn as a dashed line in each panel

FAMILY_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
DPI = 300
BASELINE = "baseline"   # model.family of the baselines (OASM, word counts)
FONT = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
        "legend.fontsize": 8}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(FONT)
    return plt


def _save(fig, path: Path) -> Path:
    """The figure as a 300 dpi PNG at `path` and a PDF beside it; every artist inside the saved area."""
    plt = _plt()
    for out in (path, path.with_suffix(".pdf")):
        fig.savefig(out, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def mean_interval(values) -> float:
    """Half-width of the 95 % t interval of the mean (nan for fewer than two values)."""
    from scipy import stats

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else math.nan


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
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    measures = [m for m in measures if m in wide and wide[m].notna().any()]
    if not measures:
        return None
    plt = _plt()
    names = _order(models, [n for n in wide.index if wide.loc[n, measures].notna().any()])
    colors = _colors(models.reindex(names))
    fig, axes = plt.subplots(1, len(measures), figsize=(2.6 * len(measures) + 1.8, 0.28 * len(names) + 1.6),
                             sharey=True, squeeze=False)
    y = np.arange(len(names))
    it = models.reindex(names)["instruction_tuned"].fillna(False).astype(bool).to_numpy()
    family = [str(models.loc[n, "family"]) for n in names]
    baseline = np.array([f == BASELINE for f in family])   # no language model: grey, hatched, neither IT nor vanilla
    col = [to_rgba("0.75") if b else to_rgba(colors.get(f, "grey"), 1.0 if i else 0.35)
           for f, i, b in zip(family, it, baseline)]
    for ax, m in zip(axes[0], measures):
        vals = wide.reindex(names)[m].to_numpy(float)
        err = mad.reindex(names)[m].to_numpy(float) if m in mad else np.full(len(names), np.nan)
        bars = ax.barh(y, np.nan_to_num(vals), xerr=np.where(np.isfinite(err), err, 0), color=col,
                       edgecolor="black", linewidth=0.4, error_kw={"linewidth": 0.8})
        for bar, b in zip(bars, baseline):
            bar.set_hatch("//" if b else None)
        ax.set_title(m)
        ax.set_xlabel(score_label)
        ax.axvline(0, color="black", linewidth=0.6)
        if REFERENCE in names and np.isfinite(wide.loc[REFERENCE, m]):   # what the other subjects predict
            ax.axvline(wide.loc[REFERENCE, m], color="black", linestyle="--", linewidth=0.9)
    axes[0][0].set_yticks(y, names)
    axes[0][0].invert_yaxis()
    present = {(f, bool(i)) for f, i in zip(family, it)}
    handles = [Patch(facecolor=to_rgba(c, 1.0 if tuned else 0.35), edgecolor="black", linewidth=0.4,
                     label=f"{f}, {'instruction-tuned' if tuned else 'vanilla'}")
               for f, c in colors.items() if f != BASELINE for tuned in (False, True) if (f, tuned) in present]
    if baseline.any():
        handles.append(Patch(facecolor="0.75", edgecolor="black", linewidth=0.4, hatch="//",
                             label="baseline (no language model)"))
    if REFERENCE in names:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=0.9, label="brain-to-brain reference"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
    fig.suptitle("Alignment per model (error bars: MAD over participants, where per-participant scores exist)")
    fig.tight_layout()
    return _save(fig, path)


def pair_changes(changes: pd.DataFrame, models: pd.DataFrame, measures: list[str], path: Path, title: str) -> Path | None:
    """Percent change IT vs its vanilla pair: a dot per pair, a bar at the mean with its 95 % interval
    (the study's Fig. 1B/1C); the models are in pairs.csv, not on the dots."""
    measures = [m for m in measures if m in set(changes["measure"])]
    if not measures:
        return None
    plt = _plt()
    colors = _colors(models.reindex(changes["model"].unique()))
    fig, ax = plt.subplots(figsize=(max(1.4 * len(measures) + 1.5, 4.0), 3.6))
    rng = np.random.default_rng(0)
    for i, m in enumerate(measures):
        g = changes[changes["measure"] == m]
        half = mean_interval(g["pct"])
        ax.bar(i, g["pct"].mean(), color="lightgrey", edgecolor="black", width=0.6,
               yerr=half if math.isfinite(half) else None, capsize=4, error_kw={"linewidth": 1})
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(g)), g["pct"], s=16, zorder=3, edgecolors="white",
                   linewidths=0.4, c=[colors.get(str(f), "grey") for f in g["family"]])
        ax.text(i, 1.01, f"{g['pct'].mean():+.1f}%\n(n={len(g)})", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(measures)), measures, rotation=30 if len(measures) > 3 else 0,
                  ha="right" if len(measures) > 3 else "center")
    ax.set_ylabel("change vs vanilla pair (% of the vanilla score)")
    ax.set_title(title, pad=28)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f"{fam} pair") for fam, c in colors.items()]
    handles.append(Patch(facecolor="lightgrey", edgecolor="black", label="mean, 95 % CI"))
    ax.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _save(fig, path)


def scatter_panels(scores: pd.DataFrame, props: pd.DataFrame, models: pd.DataFrame, corr: pd.DataFrame,
                   measure: str, panels: list[tuple[str, str]], path: Path, title: str,
                   y_label: str | None = None) -> Path | None:
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
    fig, axes = plt.subplots(1, len(rows), figsize=(3.0 * len(rows) + 0.8, 3.4), sharey=True, squeeze=False)
    for ax, row in zip(axes[0], rows):
        names = row["models"].split(", ")
        x = props.loc[names, row["property"]].to_numpy(float)
        y = scores.loc[names, measure].to_numpy(float)
        it = models.loc[names, "instruction_tuned"].fillna(False).astype(bool).to_numpy()
        c = np.array([colors.get(str(models.loc[n, "family"]), "grey") for n in names], dtype=object)
        ax.scatter(x[it], y[it], s=18, marker="o", facecolors=list(c[it]), edgecolors=list(c[it]))
        ax.scatter(x[~it], y[~it], s=18, marker="s", facecolors="none", edgecolors=list(c[~it]))
        slope, intercept = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 50)
        ax.plot(xs, slope * xs + intercept, color="black", linewidth=1)
        p_show = row["p_fdr"] if math.isfinite(row["p_fdr"]) else row["p"]
        ax.set_title(f"r = {row['r']:.3f}, p{'(FDR)' if math.isfinite(row['p_fdr']) else ''} = {p_show:.2g} "
                     f"{stars(p_show)}\nn = {row['n']} ({row['model_set']})")
        ax.set_xlabel(LABELS.get(row["property"], row["property"]))
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f"{f} (colour)") for f, c in colors.items()]
    handles.append(Line2D([], [], marker="o", linestyle="", color="grey", label="instruction-tuned (filled circle)"))
    handles.append(Line2D([], [], marker="s", linestyle="", markerfacecolor="none", color="grey",
                          label="vanilla (open square)"))
    axes[0][0].set_ylabel(y_label or measure)
    fig.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 0.9))
    fig.suptitle(title + " (filled: instruction-tuned)")
    fig.tight_layout()
    return _save(fig, path)


def layer_curves(curves: dict, models: pd.DataFrame, path: Path, score_label: str) -> Path | None:
    """Score against relative depth, a panel per (dataset, IT/vanilla pair): the vanilla model dashed, its
    instruction-tuned models solid, a band of +-1 MAD over participants where the results have it, the dataset's
    ceiling dotted. curves: {(dataset, model): (depths, scores, ceiling, MADs)}, in the scores' units (None: none
    drawn)."""
    it = models["instruction_tuned"].fillna(False).astype(bool)
    pairs = {}
    for name in models.index[it]:
        if models.loc[name, "pair"] in models.index:
            pairs.setdefault(str(models.loc[name, "pair"]), []).append(name)
    datasets = sorted({d for d, _ in curves})
    panels = [(d, v, sorted(its)) for d in datasets for v, its in sorted(pairs.items())
              if (d, v) in curves and any((d, n) in curves for n in its)]
    if not panels:
        return None
    plt = _plt()
    ncol = min(3, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.0 * nrow + 0.6), squeeze=False)
    cycle = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    for ax, (dataset, vanilla, its) in zip(axes.flat, panels):
        depths, values, ceiling, mads = curves[(dataset, vanilla)]
        ax.plot(depths, values, "--", color="#1f77b4", marker="s", markersize=3, label=f"{vanilla} (vanilla)")
        _band(ax, depths, values, mads, "#1f77b4", label="±1 MAD over participants")
        for color, name in zip(cycle, [n for n in its if (dataset, n) in curves]):
            d, v, _, m = curves[(dataset, name)]
            ax.plot(d, v, "-", color=color, marker="o", markersize=3, label=name)
            _band(ax, d, v, m, color)
        if ceiling is not None:
            ax.axhline(ceiling, color="black", linestyle=":", linewidth=1, label="ceiling")
        ax.set_title(f"{dataset}: {vanilla} pair")
        ax.set_xlabel("relative depth (0 = embedding, 1 = last block)")
        ax.set_ylabel(score_label)
        ax.set_xlim(-0.03, 1.03)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Alignment per layer, instruction-tuned vs vanilla")
    fig.tight_layout()
    return _save(fig, path)


def _band(ax, depths, values, mads, color, label=None) -> None:
    """+-1 MAD over participants around a per-layer curve (nothing where a layer has no MAD)."""
    if mads is None:
        return
    m = np.array([np.nan if x is None else x for x in mads], float)
    v = np.asarray(values, float)
    ax.fill_between(depths, v - m, v + m, color=color, alpha=0.15, linewidth=0, label=label)


def protocol_bars(scores: pd.DataFrame, models: pd.DataFrame, path: Path, score_label: str) -> Path | None:
    """A bar per (model, protocol) per dataset, baselines beside the models: how much of a score survives
    the confound-controlled splits. scores: rows (dataset, model, protocol, value)."""
    if scores.empty or scores["protocol"].nunique() < 2:
        return None
    plt = _plt()
    datasets = sorted(scores["dataset"].unique())
    protocols = list(dict.fromkeys(scores["protocol"]))
    fig, axes = plt.subplots(len(datasets), 1, figsize=(max(4.0, 0.9 * scores["model"].nunique() + 2.5),
                                                        2.8 * len(datasets)), squeeze=False)
    width = 0.8 / len(protocols)
    shades = plt.get_cmap("Greys")(np.linspace(0.35, 0.85, len(protocols)))
    for ax, dataset in zip(axes[:, 0], datasets):
        d = scores[scores["dataset"] == dataset]
        names = _order(models, list(d["model"].unique()))
        names = sorted(names, key=lambda n: models.reindex([n])["family"].iloc[0] == BASELINE)   # baselines last
        for k, (protocol, shade) in enumerate(zip(protocols, shades)):
            vals = [d[(d["model"] == n) & (d["protocol"] == protocol)]["value"].mean() for n in names]
            ax.bar(np.arange(len(names)) + (k - (len(protocols) - 1) / 2) * width, np.nan_to_num(vals), width,
                   color=shade, edgecolor="black", linewidth=0.4, label=protocol)
        ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 3 else 0,
                      ha="right" if len(names) > 3 else "center")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylabel(score_label)
        ax.set_title(dataset)
        ax.legend(title="protocol (metric.cv)", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Best-layer score under each cross-validation protocol")
    fig.tight_layout()
    return _save(fig, path)
