"""Intact minus perturbed stimuli (dataset.perturb; Kauf et al. 2024): how much of each model's score a text
perturbation takes away, and the instruction-tuned model's gain over its vanilla pair under each perturbation.

collect() keeps every perturbed result apart (Collected.perturbed), so no other number of the analysis
sees it. Here each meets the intact result of the same model whose settings are the same but for the
perturbation (metric, dataset settings, data files), at the analysis' score and layer choice (with
layer=study, the layer the intact result was read at). The seeds of one perturbation are averaged
(n_seeds says how many). drop = intact - perturbed; IT gain = IT - vanilla, intact and perturbed.
"""

import json

import pandas as pd

from brainalign.analysis.collect import value_at
from brainalign.analysis.pairs import pair_of

COLUMNS = ["model", "instruction_tuned", "dataset", "perturb", "n_seeds", "intact", "perturbed", "drop", "drop_pct"]
PAIR_COLUMNS = ["model", "pair", "dataset", "perturb", "it_gain_intact", "it_gain_perturbed", "gain_change",
                "it_drop", "vanilla_drop"]
HOW = ("`python main.py model=<m> dataset=pereira dataset.perturb=scramble-words` beside the intact run "
       "`python main.py model=<m> dataset=pereira`")


def intact_settings(result: dict) -> str:
    """The result's settings as its intact run would record them (collect's `settings` column)."""
    settings = json.loads(json.dumps(result.get("settings"), default=str))
    for key in ("perturb", "perturb_seed"):
        (settings or {}).get("dataset", {}).pop(key, None)
    return json.dumps(settings, sort_keys=True, default=str)


def _name(result: dict) -> str:
    m = result.get("model")
    return str(m.get("name") if isinstance(m, dict) else m)


def compare(col) -> tuple[pd.DataFrame, list[str]]:
    """(one row per model x intact dataset column x perturbation, 'model on dataset (perturbation)' of each
    perturbed result without an intact one to meet)."""
    columns = {(str(d.base_dataset), d.settings): label for label, d in col.datasets.iterrows()} if len(col.datasets) else {}
    intact = {(r.model, r.dataset): r for r in col.rows.itertuples()}
    found, lonely = {}, []
    for r in col.perturbed:
        name, p = _name(r), r["perturb"]
        row = intact.get((name, columns.get((str(r["dataset"]), intact_settings(r)))))
        if row is None:
            lonely.append(f"{name} on {r['dataset']} ({p.get('name')}, seed {p.get('seed')})")
            continue
        raw, ceiled, _, _ = value_at(r, col.layer, row.layer, col.score)
        entry = found.setdefault((name, row.dataset, p.get("name")), {"intact": row.value, "values": {}})
        entry["values"][p.get("seed")] = raw if col.score == "raw" else ceiled
    rows = []
    for (name, dataset, perturb), e in found.items():
        values = pd.Series(list(e["values"].values()), dtype=float)
        perturbed = float(values.mean()) if values.notna().all() else None
        drop = None if perturbed is None or e["intact"] is None else float(e["intact"]) - perturbed
        it = bool(col.models.loc[name, "instruction_tuned"]) if name in col.models.index else None
        rows.append({"model": name, "instruction_tuned": it, "dataset": dataset, "perturb": perturb,
                     "n_seeds": len(values), "intact": e["intact"], "perturbed": perturbed, "drop": drop,
                     "drop_pct": 100 * drop / e["intact"] if drop is not None and e["intact"] else None})
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["dataset", "perturb", "model"]).reset_index(drop=True)
    return table, lonely


def pair_gains(table: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """One row per (IT model, dataset, perturbation) whose vanilla pair has the same perturbation scored."""
    by = {(r.model, r.dataset, r.perturb): r for r in table.itertuples()}
    rows = []
    for (name, dataset, perturb), it in by.items():
        pair = pair_of(models, name) if it.instruction_tuned else None
        van = by.get((pair, dataset, perturb))
        if van is None or pd.isna([it.perturbed, van.perturbed, it.intact, van.intact]).any():   # a missing score
            continue
        intact, perturbed = it.intact - van.intact, it.perturbed - van.perturbed
        rows.append({"model": name, "pair": pair, "dataset": dataset, "perturb": perturb, "it_gain_intact": intact,
                     "it_gain_perturbed": perturbed, "gain_change": perturbed - intact,
                     "it_drop": it.drop, "vanilla_drop": van.drop})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def render(table: pd.DataFrame, gains: pd.DataFrame, lonely: list, col) -> list[str]:
    """The report's section (Markdown lines)."""
    from brainalign.analysis.markdown import md_table

    L = ["## Text perturbations: intact minus perturbed (Kauf et al. 2024)", ""]
    if table.empty:
        L += [f"_No perturbed result has an intact result with the same settings here; produce them with {HOW}._", ""]
    else:
        L += [f"Each model's {col.score} score on the intact stimuli and on perturbed ones (dataset.perturb, "
              "docs/controls.md; the mean over seeds); drop = intact − perturbed, % of intact. Kauf et al. (2024) "
              "found word order (scramble-words) costs little and lexical content (content-words kept) carries most "
              "of the score. Perturbed results enter no other number of this report.", ""]
        mean = table.groupby(["dataset", "perturb"])["drop"].agg(["count", "mean"]).reset_index()
        L += ["Mean drop per dataset and perturbation:", "",
              md_table(mean.rename(columns={"count": "models", "mean": "mean drop"}), digits=4, index=False),
              md_table(table, digits=4, index=False)]
        if len(gains):
            L += ["Instruction-tuned vs vanilla pair under each perturbation: IT gain = IT − vanilla on intact and on "
                  "perturbed stimuli; gain change = perturbed gain − intact gain.", "",
                  md_table(gains, digits=4, index=False)]
        synthetic = set(col.datasets.index[col.datasets["synthetic"].astype(bool)])
        if table["dataset"].isin(synthetic).any():
            L += ["Synthetic data plant the responses in the model's own intact features: the intact score is high by "
                  "construction and the drop measures how the perturbation changes the model's features, not "
                  "brain-likeness.", ""]
    if lonely:
        L += [f"Perturbed results without an intact one with the same settings: {', '.join(lonely)}.", ""]
    return L
