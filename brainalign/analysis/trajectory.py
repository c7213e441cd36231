"""Scores along training: one curve per model over its checkpoints (model.revision), against the
training tokens each checkpoint had seen (step x tokens per step), with the instruction-tuned model
of a pair drawn as a point beside its base's curve (docs/controls.md)."""

import math
import re
from pathlib import Path

import pandas as pd

COLUMNS = ["model", "dataset", "revision", "step", "tokens", "value"]


def step_of(revision) -> int | None:
    """The training step a revision names (step1000, checkpoint-40, step_2): its last integer."""
    found = re.findall(r"\d+", str(revision))
    return int(found[-1]) if found else None


def table(col, tokens_per_step: float | None = None) -> pd.DataFrame:
    """One row per trained checkpoint result; tokens = step x tokens per step (the analysis setting, else
    the one the result recorded; NaN when neither says it)."""
    c = col.controls
    if c.empty:
        return pd.DataFrame(columns=COLUMNS)
    c = c[c["revision"].notna() & (c["init"] != "random")]
    rows = []
    for _, r in c.iterrows():
        step = step_of(r["revision"])
        per_step = tokens_per_step or r["tokens_per_step"]
        tokens = step * float(per_step) if step is not None and per_step and not pd.isna(per_step) else math.nan
        rows.append([r["config_name"], r["dataset"], r["revision"], step, tokens, r["value"]])
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["model", "dataset", "step"], na_position="last")


def figure(traj: pd.DataFrame, col, path: Path) -> Path | None:
    """Score against training tokens (or steps), one panel per dataset column; the trained model (circle)
    and its instruction-tuned partners (stars) beside the end of each curve."""
    from brainalign.analysis.figures import FAMILY_COLORS, _plt, _save

    traj = traj[traj["step"].notna()]
    if traj.empty:
        return None
    plt = _plt()
    datasets = list(dict.fromkeys(traj["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False)
    use_tokens = traj["tokens"].notna().all()
    x_col = "tokens" if use_tokens else "step"
    rows = col.rows.set_index(["model", "dataset"])["value"] if not col.rows.empty else pd.Series(dtype=float)
    for ax, dataset in zip(axes[0], datasets):
        d = traj[traj["dataset"] == dataset]
        for i, (model, g) in enumerate(d.groupby("model")):
            color = FAMILY_COLORS[i % len(FAMILY_COLORS)]
            ax.plot(g[x_col], g["value"], "-o", color=color, ms=3, label=f"{model} checkpoints")
            end = g[x_col].max() * 1.6 if g[x_col].max() > 0 else 1
            if (model, dataset) in rows.index:
                ax.plot([end], [rows[(model, dataset)]], "o", mfc="white", color=color, ms=6, label=f"{model} (final)")
            partners = col.models[(col.models["pair"] == model) & col.models["instruction_tuned"].astype(bool)].index \
                if not col.models.empty else []
            for it in partners:
                if (it, dataset) in rows.index:
                    ax.plot([end], [rows[(it, dataset)]], "*", color=color, ms=10, label=f"{it} (instruction-tuned)")
        training_axis(ax, d[x_col])
        ax.set_xlabel("training tokens" if use_tokens else "training step (no tokens_per_step given)")
        ax.set_ylabel(f"{col.score} score")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle("Brain alignment along training")
    fig.tight_layout()
    return _save(fig, path)


def training_axis(ax, x, most: int = 6) -> list[float]:
    """A symlog x axis (linear up to the first positive value, so step 0 shows) labelled at 0 and each decade
    from the first positive value's to the last's, or, where that is fewer than three decades, at each checkpoint
    (at most `most`, evenly picked); the ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    values = sorted(set(float(v) for v in x))
    positive = [v for v in values if v > 0]
    ax.set_xscale("symlog", linthresh=positive[0] if positive else 1.0)
    powers = range(math.floor(math.log10(positive[0])), math.floor(math.log10(positive[-1])) + 1) if positive else []
    decades = [10.0 ** k for k in powers]
    if len(decades) >= 3:
        ticks, label = [v for v in values if v <= 0] + decades, _power_of_ten
    else:
        picks = sorted({round(i * (len(values) - 1) / (most - 1)) for i in range(most)}) if len(values) > most \
            else range(len(values))
        ticks, label = [values[i] for i in picks], _short
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    ax.xaxis.set_minor_locator(NullLocator())
    return ticks


def _power_of_ten(v: float) -> str:
    return "0" if v == 0 else f"$10^{{{round(math.log10(v))}}}$"


def _short(v: float) -> str:
    """2k, 4.2M, 1.5G."""
    for power, suffix in ((12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if abs(v) >= 10 ** power:
            return f"{v / 10 ** power:.3g}{suffix}"
    return f"{v:.3g}"


def render(traj: pd.DataFrame, figure_path: Path | None) -> list[str]:
    """The report's section (nothing without checkpoint results)."""
    from brainalign.analysis.markdown import md_table

    if traj.empty:
        return []
    lines = ["## Training trajectories", "",
             f"{len(traj)} results of checkpoints (model.revision), kept out of every other table. tokens = step x "
             "tokens per step (analysis.tokens_per_step, else the model's tokens_per_step).", ""]
    unnamed = traj[traj["step"].isna()]
    if len(unnamed):
        lines += [f"- Not drawn (no step number in the revision): {', '.join(unnamed['revision'].astype(str))}", ""]
    if figure_path:
        lines += [f"![{figure_path.name}]({figure_path.name})", ""]
    return lines + [md_table(traj, index=False), ""]
