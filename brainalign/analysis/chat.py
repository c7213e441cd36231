"""Raw text vs the chat template: one model scored both ways, per dataset and protocol.

A result of `model.chat_template=user` (each context a user turn of the model's own chat template;
stored under `<model>-chat-user/`) is a presentation variant of its model, not a model of its own:
collect() keeps it apart (Collected.chat), so every other number of the analysis stays the raw-text
one (the study's, Brain-Score's presentation). Here each such result meets the raw-text result of
the same model on the same dataset column: the score of each under every protocol they share, the
difference user - none and, where both kept comparison arrays (comparison_<protocol>.npz), the paired
comparison of brainalign.metrics.compare (the benchmark's score, as the IT vs vanilla comparisons of
significance.py): its difference, 95 % interval and p (dual bootstrap over subjects and stimulus
units; `method` names the older, uncalibrated one for results written before it).
"""

import json
from pathlib import Path

import pandas as pd

from brainalign.analysis.collect import value_at
from brainalign.analysis.significance import paired
from brainalign.app.comparison_files import comparison_files

COLUMNS = ["model", "instruction_tuned", "dataset", "protocol", "score", "none", "user", "difference",
           "paired_difference", "low", "high", "p", "method", "p_bootstrap", "p_permutation", "n_subjects",
           "n_stimuli", "note",
           "none_path", "user_path"]
HOW = ("`python main.py model=<m> model.chat_template=user dataset=<d>` beside the raw-text run "
       "`python main.py model=<m> dataset=<d>` (same metric), then analyse the folder again")


def _per_protocol(none: dict, user: dict) -> list:
    """(protocol, none summary, user summary) for every protocol both results scored; a result without
    per-protocol scores (behavior, cka, rdm, older results) gives one pair of top-level scores."""
    theirs, mine = none.get("protocols") or {}, user.get("protocols") or {}
    return [(p, theirs[p], mine[p]) for p in mine if p in theirs] or [(None, none, user)]


def _score(summary: dict, score: str, layer: str, study_layer):
    raw, ceiled, _, _ = value_at(summary, layer, study_layer, score)
    return raw if score == "raw" else ceiled


def _paired(user_path, none_path, protocol, n_boot, n_perm, seed) -> dict:
    mine, theirs = comparison_files(Path(user_path).parent), comparison_files(Path(none_path).parent)
    if protocol is None or protocol not in mine or protocol not in theirs:
        return {}
    a, c = paired(mine[protocol], theirs[protocol], n_boot=n_boot, n_perm=n_perm, seed=seed)
    if a is None:
        return {"note": c}
    return {"paired_difference": c.difference, "low": c.low, "high": c.high, "p": c.p, "method": c.method,
            "p_bootstrap": c.p_bootstrap, "p_permutation": c.p_permutation, "n_subjects": c.n_subjects,
            "n_stimuli": c.n_stimuli}


def compare(col, model_configs: dict | None = None, *, n_boot=1000, n_perm=10000, seed=0) -> pd.DataFrame:
    """One row per (model, dataset column, protocol) with a raw-text and a chat-template result.

    col: a Collected (brainalign.analysis.collect); its score and layer choice apply."""
    configs = model_configs or {}
    rows = []
    if col.chat.empty or col.rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    raw_paths = {(r.model, r.dataset): r.path for r in col.rows.itertuples()}
    for r in col.chat.itertuples():
        none_path = raw_paths.get((r.model, r.dataset))
        if none_path is None:
            continue
        study_layer = configs.get(r.model, {}).get("study_layer")
        none, user = (json.loads(Path(path).read_text()) for path in (none_path, r.path))
        it = col.models.loc[r.model, "instruction_tuned"] if r.model in col.models.index else None
        for protocol, theirs, mine in _per_protocol(none, user):
            a, b = (_score(x, col.score, col.layer, study_layer) for x in (mine, theirs))
            diff = a - b if a is not None and b is not None else None
            rows.append({"model": r.model, "instruction_tuned": it, "dataset": r.dataset, "protocol": protocol,
                         "score": col.score, "none": b, "user": a, "difference": diff, "none_path": none_path,
                         "user_path": r.path, **_paired(r.path, none_path, protocol, n_boot, n_perm, seed)})
    return pd.DataFrame(rows, columns=COLUMNS)


def unmatched(col) -> list[str]:
    """'model on dataset' of every chat-template result without a raw-text result beside it."""
    have = set(zip(col.rows["model"], col.rows["dataset"])) if len(col.rows) else set()
    return [f"{r.model} on {r.dataset}" for r in col.chat.itertuples() if (r.model, r.dataset) not in have]


def render(table: pd.DataFrame, col) -> list[str]:
    """Report lines (Markdown) for the section."""
    from brainalign.analysis.markdown import md_table, p_text

    L = ["## Is it language? Raw text vs the chat template", ""]
    lonely = unmatched(col)
    alone = [f"Chat-template results without a raw-text one: {', '.join(lonely)}.", ""] if lonely else []
    if table.empty:
        return L + [f"_No model has both a raw-text (model.chat_template=none) and a chat-template "
                    f"(model.chat_template=user) result on one dataset here; produce them with {HOW}._", ""] + alone
    L += [f"Each model scored on raw text (none: Brain-Score's presentation, every other number in this report) and "
          f"with each context as a user turn of its own chat template (user); difference = user − none of their "
          f"{col.score} score. Paired: where both results kept comparison arrays, the difference of the benchmark's "
          "score, its 95 % interval and p (brainalign.metrics.compare: a dual bootstrap over subjects and stimulus "
          "units, generalising to new subjects and stimuli; docs/statistics.md).", ""]
    d = table["difference"].dropna()
    if len(d):
        n = table["model"].nunique()
        L += [f"User turn higher in {int((d > 0).sum())} of {len(d)} comparisons ({n} model{'s' * (n != 1)}), "
              f"mean difference {d.mean():+.4f}.", ""]
    columns = ["model", "instruction_tuned", "dataset", "protocol", "none", "user", "difference"]
    if table["paired_difference"].notna().any():
        columns += ["paired_difference", "low", "high", "p", "method"]
    else:
        L += ["No pair kept comparison arrays (comparison_<protocol>.npz), so there is no interval or p.", ""]
    if table["note"].notna().any():
        columns.append("note")
    show = table.assign(protocol=table["protocol"].fillna(""), note=table["note"].fillna(""),
                        p=table["p"].map(p_text))
    L += [md_table(show[columns], digits=4, index=False)]
    synthetic = col.datasets.index[col.datasets["synthetic"].astype(bool)]
    if table["dataset"].isin(synthetic).any():
        L += ["Synthetic data plant the responses in each run's own features, so there the two results are not "
              "scored against the same responses: their difference says nothing about brain-likeness.", ""]
    return L + alone
