"""Trained minus untrained: how much of a model's score its training made (docs/controls.md).

For each model with results of its untrained architecture (model.init=random, one result per init
seed) and of its trained weights, on the same dataset column: delta = trained - mean over seeds of
untrained, with a t interval over the seeds. The unit of the interval is the init seed: it says how
much the untrained score moves from one random draw of the weights to another, and nothing about
stimuli or participants. An IT/vanilla pair shares its architecture, so both members are set against
the untrained runs of the vanilla model (the IT model's own, where it has some).
"""

import math

import numpy as np
import pandas as pd

LEVEL = 0.95
COLUMNS = ["model", "dataset", "trained", "untrained_mean", "untrained_sd", "n_seeds", "delta", "delta_low",
           "delta_high", "untrained_of"]


def t_interval(trained: float, untrained, level: float = LEVEL) -> tuple[float, float, float]:
    """(delta, low, high): trained minus the seeds' mean, t interval over the seeds (NaN bounds for one seed)."""
    from scipy.stats import t

    u = np.asarray(untrained, dtype=float)
    delta = float(trained) - float(u.mean())
    if len(u) < 2:
        return delta, math.nan, math.nan
    half = float(t.ppf(0.5 + level / 2, len(u) - 1) * u.std(ddof=1) / math.sqrt(len(u)))
    return delta, delta - half, delta + half


def deltas(col) -> pd.DataFrame:
    """One row per (trained model, dataset column) that has untrained seeds to set it against."""
    controls = col.controls
    if controls.empty or col.rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    untrained = controls[(controls["init"] == "random") & controls["revision"].isna()]
    seeds = {key: g["value"].dropna().to_numpy() for key, g in untrained.groupby(["config_name", "dataset"])}
    out = []
    for _, row in col.rows.iterrows():
        model, dataset = row["model"], row["dataset"]
        source = model
        if (model, dataset) not in seeds and model in col.models.index and col.models.loc[model, "instruction_tuned"]:
            source = col.models.loc[model, "pair"]   # an IT model: its base's architecture
        u = seeds.get((source, dataset))
        if u is None or not len(u) or row["value"] is None or not math.isfinite(row["value"]):
            continue
        delta, low, high = t_interval(row["value"], u)
        out.append([model, dataset, row["value"], float(u.mean()), float(u.std(ddof=1)) if len(u) > 1 else math.nan,
                    len(u), delta, low, high, source])
    return pd.DataFrame(out, columns=COLUMNS)


def render(table: pd.DataFrame, col) -> list[str]:
    """The report's section (nothing when no untrained results were collected)."""
    from brainalign.analysis.markdown import md_table

    n = int((col.controls["init"] == "random").sum()) if not col.controls.empty else 0
    if not n:
        return []
    lines = ["## Trained vs untrained", "",
             f"{n} results of untrained architectures (model.init=random), kept out of every other table. delta = "
             f"trained - mean over init seeds of the untrained score; [low, high] = {LEVEL:.0%} t interval over the "
             "init seeds (the unit is the seed; one seed gives no interval). An IT model with no untrained runs "
             "of its own is set against its base's (`untrained_of`): a pair shares its architecture.", ""]
    if table.empty:
        return lines + ["No trained result shares a dataset column with the untrained ones.", ""]
    return lines + [md_table(table.round(4), index=False), ""]
