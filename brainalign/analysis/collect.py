"""Read the stored results of any set of runs into tables; refuse (or keep apart) incomparable ones.

Every run writes `<results>/<model>/<dataset>/<metric>/result.json` (docs/design.md), or `failed.json`
when it failed. Two results of one dataset are comparable only if they share the metric, its settings,
the dataset settings, the ceiling and the synthetic flag: their "variant". A folder holding two variants
of a dataset is refused (mixed="refuse", the default) or each variant becomes a dataset column of its
own (mixed="group"); it is never averaged silently.

A result of `model.chat_template=user` (a context fed as a user turn of the model's chat template) is
a presentation variant of its model: it is kept apart in Collected.chat, enters no table, pair or
correlation, and is compared only with the raw-text result of the same model (brainalign.analysis.chat).
A result of perturbed stimuli (dataset.perturb) is kept apart likewise, in Collected.perturbed (the result
dicts), and meets only its intact result (brainalign.analysis.perturbations).
So is the result of an untrained model (model.init=random) or of a checkpoint (model.revision): kept
in Collected.controls, read by brainalign.analysis.untrained and brainalign.analysis.trajectory.
"""

import fnmatch
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign import registry
from brainalign.errors import BrainalignError, ConfigError, DataMismatch, DataUnavailable

RESULT, FAILED = "result.json", "failed.json"
ANALYSIS_DIR = "analysis"   # <results>/analysis: where the analysis writes, never read as results
SCORES = ("raw", "ceiled")
LAYER_CHOICES = ("best", "study")
MIXED_CHOICES = ("refuse", "group")
MODEL_KEYS = ("family", "instruction_tuned", "pair", "params")


class MixedResults(BrainalignError):
    """Results that cannot go into one table: other metric settings, ceilings, or two values for one run."""


@dataclass
class Collected:
    rows: pd.DataFrame        # one row per (model, dataset column): value, raw, ceiled, mad, ...
    models: pd.DataFrame      # index model: family, instruction_tuned, pair, params
    datasets: pd.DataFrame    # index dataset column: base dataset, kind, metric, variant, ceiling, ...
    failures: pd.DataFrame    # runs that failed and have no result
    score: str = "raw"
    layer: str = "best"
    warnings: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)   # "<path>: <why>" for each result.json that could not be used
    chat: pd.DataFrame = field(default_factory=pd.DataFrame)  # chat-template results: rows' columns + chat_template
    perturbed: list = field(default_factory=list)  # results of perturbed stimuli (dataset.perturb), as read
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)  # untrained / checkpoint results: + CONTROL_COLUMNS

    def table(self) -> pd.DataFrame:
        """Models x dataset columns of the chosen score."""
        if self.rows.empty:
            return pd.DataFrame(index=pd.Index([], name="model"))
        return self.rows.pivot(index="model", columns="dataset", values="value")[list(self.datasets.index)]

    def mad(self) -> pd.DataFrame:
        if self.rows.empty:
            return pd.DataFrame(index=pd.Index([], name="model"))
        return self.rows.pivot(index="model", columns="dataset", values="mad")[list(self.datasets.index)]

    def columns(self, kind: str) -> list[str]:
        return [d for d in self.datasets.index if self.datasets.loc[d, "kind"] == kind]


def dataset_kind(result: dict) -> str:
    """The benchmark's kind as the analysis labels it: 'brain', 'behavior' or 'language-model'. From the
    result (written since the declarations), else from the benchmark's declaration; 'brain' when unknown."""
    kind = result.get("kind")
    if kind is None and result.get("benchmark") in registry.benchmarks():
        kind = registry.benchmark(result["benchmark"]).kind
    kind = str(kind or "brain").lower()
    return "behavior" if kind.startswith("behav") else kind if kind in registry.KINDS else "brain"


def study_column(benchmark) -> float:
    """Where the study's tables put the benchmark (BenchmarkSpec.study_column); others follow by name."""
    declared = registry.benchmarks()
    column = declared[benchmark].study_column if benchmark in declared else None
    return float("inf") if column is None else column


def _round(x, digits=6):
    try:
        return None if x is None or not math.isfinite(float(x)) else round(float(x), digits)
    except (TypeError, ValueError):
        return None


def own_ceiling(result: dict) -> bool:
    """Whether the result's ceiling is its model's own (MetricSpec.ceiling_per_model), not the data's."""
    kind = ((result.get("settings") or {}).get("metric") or {}).get("kind")
    spec = registry.metrics().get(kind)
    return bool(spec and spec.ceiling_per_model)


def signature(result: dict) -> dict:
    """What must be equal for two results of one dataset to be compared (the ceiling only where it is the
    data's: a voxelwise ceiling is the mean over the model's own significant voxels)."""
    return {"metric": result.get("metric"), "settings": result.get("settings"),
            "ceiling": None if own_ceiling(result) else _round(result.get("ceiling")),
            "synthetic": bool(result.get("synthetic", False)), "subset": result.get("subset")}


def variant_id(sig: dict) -> str:
    return hashlib.sha1(json.dumps(sig, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _flatten(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def differing_keys(sigs: list[dict]) -> list[str]:
    flat = [_flatten(s) for s in sigs]
    keys = sorted(set().union(*flat))
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1]


def _number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def invalid(r) -> str | None:
    """Why a parsed result.json cannot enter the tables, or None when it can."""
    if not isinstance(r, dict) or "model" not in r or "dataset" not in r:
        return "not a brainalign result (no model/dataset)"
    name = r["model"].get("name") if isinstance(r["model"], dict) else r["model"]
    if not (isinstance(name, str) and name and isinstance(r["dataset"], str) and r["dataset"]):
        return "its model or dataset is not a name"
    for key in ("raw", "ceiled", "ceiling"):
        if not _number(r.get(key)):
            return f"{key}={r[key]!r} is not a number"
    layers = r.get("per_layer") or []
    if not isinstance(layers, list) or not all(isinstance(row, dict) and _number(row.get("raw"))
                                               and _number(row.get("ceiled")) for row in layers):
        return "per_layer is not a list of layers with numeric raw/ceiled scores"
    return None


def read_runs(results_dir) -> tuple[list[dict], list[dict], list[str]]:
    """(results, failures, skipped) from every result.json / failed.json under `results_dir`; `skipped`
    says for each result.json left out why ("<path>: <why>")."""
    root = Path(results_dir)
    if not root.is_dir():
        raise DataUnavailable(f"results folder {root} "
                              + ("is a file, not a folder" if root.exists() else "does not exist"))
    results, failures, skipped = [], [], []
    def own(path: Path) -> bool:  # the analysis' own folder (task=analyze records its failures there)
        return ANALYSIS_DIR in path.relative_to(root).parts[:-1]

    for path in sorted(p for p in root.rglob(RESULT) if not own(p)):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            skipped.append(f"{path}: unreadable ({type(e).__name__}: {e})")
            continue
        why = invalid(r)
        if why:
            skipped.append(f"{path}: {why}")
            continue
        r["_path"] = str(path)
        results.append(r)
    for path in sorted(p for p in root.rglob(FAILED) if not own(p)):
        if (path.parent / RESULT).exists():
            continue
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            info = {"error": "unreadable failed.json"}
        rel = path.parent.relative_to(root).parts
        # the folder is <model>/<dataset>/<metric> (brainalign.config.run_subdir)
        model, dataset, metric = (list(rel[-3:]) + [None] * 3)[:3] if len(rel) >= 3 else (None, None, None)
        failures.append({"model": info.get("model") or model, "dataset": info.get("dataset") or dataset,
                         "metric": info.get("metric") or metric, "error": info.get("error"),
                         "message": str(info.get("message", ""))[:300], "path": str(path)})
    return results, failures, skipped


def _model_name(r: dict) -> str:
    m = r.get("model")
    return str(m.get("name") if isinstance(m, dict) else m)


def _selected(name: str, include, exclude) -> bool:
    if include and not any(fnmatch.fnmatch(name, p) for p in include):
        return False
    return not any(fnmatch.fnmatch(name, p) for p in exclude or ())


def value_at(r: dict, layer: str, study_layer, score: str):
    """(raw, ceiled, layer name, per_subject usable) at the chosen layer."""
    if layer == "best":
        return r.get("raw"), r.get("ceiled"), r.get("best_layer"), True
    for row in r.get("per_layer") or []:
        if study_layer and row.get("layer") == study_layer:
            return row.get("raw"), row.get("ceiled"), study_layer, study_layer == r.get("best_layer")
    return math.nan, math.nan, study_layer, False


def _subject_scores(r: dict, subj) -> list:
    """The per-subject scores of result `r`, or DataMismatch naming its file."""
    def refuse(what):
        return DataMismatch(f"{r.get('_path', 'a result')}: per_subject holds {what}, not {{subject: score}}; "
                            "fix or remove the file")

    if not isinstance(subj, dict):
        raise refuse(f"a {type(subj).__name__}")
    for name, v in subj.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise refuse(f"{v!r} for {name}")
    return list(subj.values())


def _mad(r: dict, score: str, per_subject_ok: bool) -> tuple[float, int]:
    """Median absolute deviation over participants (scipy's, unscaled) of the per-subject scores."""
    from scipy.stats import median_abs_deviation

    subj = r.get("per_subject") or {}
    vals = [float(v) for v in _subject_scores(r, subj) if v is not None and math.isfinite(float(v))]
    if not per_subject_ok or len(vals) < 2:
        return math.nan, len(vals) if per_subject_ok else 0
    vals = np.asarray(vals)
    if score == "ceiled":
        ceiling = r.get("ceiling")
        if not ceiling:
            return math.nan, len(vals)
        vals = vals / float(ceiling)
    return float(median_abs_deviation(vals)), len(vals)


def collect(results_dir, *, score: str = "raw", mixed: str = "refuse", layer: str = "best",
            model_configs: dict | None = None, include=None, exclude=(), on_skipped=None) -> Collected:
    """Read every result under `results_dir` into a Collected (see the module doc for the rules);
    `on_skipped(line)` hears of each result.json left out at once, before any refusal."""
    if score not in SCORES:
        raise ConfigError(f"score={score!r}; choose one of {SCORES}")
    if mixed not in MIXED_CHOICES:
        raise ConfigError(f"mixed={mixed!r}; choose one of {MIXED_CHOICES}")
    if layer not in LAYER_CHOICES:
        raise ConfigError(f"layer={layer!r}; choose one of {LAYER_CHOICES}")
    configs = model_configs or {}
    results, failures, skipped = read_runs(results_dir)
    warnings = [f"skipped {line}" for line in skipped]
    for line in skipped if on_skipped else ():
        on_skipped(line)
    excluded = sorted({_model_name(r) for r in results if not _selected(_model_name(r), include, exclude)})
    results = [r for r in results if _selected(_model_name(r), include, exclude)]
    failures = [f for f in failures if f["model"] is None or _selected(str(f["model"]), include, exclude)]
    if layer == "best":
        warnings += no_score_notes(results, score)
    perturbed = [r for r in results if r.get("perturb")]   # apart: brainalign.analysis.perturbations
    results = [r for r in results if not r.get("perturb")]

    # variants per dataset
    by_dataset: dict[str, dict[str, dict]] = {}
    for r in results:
        sig = signature(r)
        r["_variant"] = variant_id(sig)
        by_dataset.setdefault(str(r["dataset"]), {}).setdefault(r["_variant"], {"sig": sig, "runs": []})["runs"].append(r)
    labels: dict[tuple[str, str], str] = {}
    for dataset, variants in by_dataset.items():
        if len(variants) == 1:
            labels[(dataset, next(iter(variants)))] = dataset
            continue
        diff = differing_keys([v["sig"] for v in variants.values()])
        if mixed == "refuse":
            lines = [f"  variant {vid}: metric={v['sig']['metric']}, ceiling={v['sig']['ceiling']}, "
                     f"synthetic={v['sig']['synthetic']}, {len(v['runs'])} results "
                     f"(e.g. {', '.join(sorted({_model_name(r) for r in v['runs']})[:4])}; {v['runs'][0]['_path']})"
                     for vid, v in variants.items()]
            raise MixedResults(
                f"{results_dir} holds {len(variants)} incomparable kinds of {dataset!r} results; they differ in "
                f"{', '.join(diff[:8]) or 'nothing visible'}:\n" + "\n".join(lines) +
                "\nAnalyse one kind per folder, select models (include/exclude), or keep each kind as a separate "
                "column: analysis.mixed=group (python main.py task=analyze), --mixed group (python -m brainalign.analysis).")
        for vid, v in variants.items():
            tag = "-subset" if v["sig"].get("subset") else ""
            labels[(dataset, vid)] = f"{dataset}{tag}@{v['sig']['metric']}#{vid[:6]}"
        warnings.append(f"{dataset}: {len(variants)} kinds of results kept apart as "
                        f"{', '.join(labels[(dataset, vid)] for vid in variants)} (they differ in {', '.join(diff[:8])})")

    rows, chat, controls, models, datasets = [], [], [], {}, {}
    for r in results:
        name = _model_name(r)
        label = labels[(str(r["dataset"]), r["_variant"])]
        cfg = configs.get(name, {})
        row = _row(r, name, label, *value_at(r, layer, cfg.get("study_layer"), score), score)
        if chat_mode(r) != "none":   # a presentation variant: apart from the model's raw-text numbers
            chat.append({**row, "chat_template": chat_mode(r)})
            continue
        if r["model"].get("config_name") if isinstance(r["model"], dict) else None:   # untrained or a checkpoint
            controls.append({**row, **{k: r["model"].get(k) for k in CONTROL_COLUMNS}})
            continue
        meta = r["model"] if isinstance(r["model"], dict) else {}
        merged = models.setdefault(name, {k: None for k in MODEL_KEYS} | {"config": name in configs})
        for key in MODEL_KEYS:
            value = meta.get(key) if meta.get(key) is not None else cfg.get(key)
            if merged[key] is None:
                merged[key] = value
            elif value is not None and value != merged[key]:
                warnings.append(f"{name}: {key} differs between its results ({merged[key]!r} vs {value!r}, {r['_path']})")
            if meta.get(key) is not None and cfg.get(key) is not None and meta[key] != cfg[key]:
                warnings.append(f"{name}: result says {key}={meta[key]!r}, conf/model says {cfg[key]!r}; the result wins")
        rows.append(row)
        d = datasets.setdefault(label, {"base_dataset": str(r["dataset"]), "benchmark": r.get("benchmark"),
                                        "kind": dataset_kind(r),
                                        "metric": r.get("metric"), "variant": r["_variant"],
                                        "ceiling": signature(r)["ceiling"], "synthetic": bool(r.get("synthetic")),
                                        "subset": bool(r.get("subset")),
                                        "settings": json.dumps(r.get("settings"), sort_keys=True, default=str)})
        d["n_models"] = d.get("n_models", 0) + 1
    if layer == "study":
        missing = sorted({row["model"] for row in rows if row["value"] is None or not math.isfinite(row["value"])})
        if missing:
            warnings.append(f"layer=study: no committed layer (or no per-layer score at it) for {', '.join(missing)}")

    rows_df = _one_per_run(pd.DataFrame(rows, columns=ROW_COLUMNS), warnings)
    chat_df = _one_per_run(pd.DataFrame(chat, columns=[*ROW_COLUMNS, "chat_template"]), warnings, " (chat template)")
    controls_df = _one_per_run(pd.DataFrame(controls, columns=[*ROW_COLUMNS, *CONTROL_COLUMNS]), warnings, " (control)")
    if rows_df["synthetic"].any():
        warnings.append("SYNTHETIC data in: " + ", ".join(sorted(rows_df.loc[rows_df["synthetic"], "dataset"].unique()))
                        + " (simulated responses, not human data)")
    subsets = {}
    for r in results:
        if r.get("subset") and chat_mode(r) == "none":
            subsets.setdefault(labels[(str(r["dataset"]), r["_variant"])], []).append(_model_name(r))
    if subsets:
        warnings.append("SUBSET of the data in: " + ", ".join(f"{d} ({', '.join(sorted(set(m)))})"
                                                              for d, m in sorted(subsets.items()))
                        + " (part of the benchmark: its own column, left out of every average)")
    baselines = sorted(n for n, m in models.items() if m.get("family") == "baseline")
    if baselines:
        warnings.append("BASELINE models (no language model; in no pair and in no vanilla set): "
                        + ", ".join(baselines))
    models_df = pd.DataFrame.from_dict(models, orient="index", columns=[*MODEL_KEYS, "config"])
    models_df.index.name = "model"
    datasets_df = pd.DataFrame.from_dict(datasets, orient="index")
    if not datasets_df.empty:
        datasets_df = datasets_df.loc[sorted(datasets_df.index, key=lambda d: (
            datasets_df.loc[d, "kind"] != "brain", study_column(datasets_df.loc[d, "benchmark"]), d))]
    datasets_df.index.name = "dataset"
    failures_df = pd.DataFrame(failures, columns=["model", "dataset", "metric", "error", "message", "path"])
    return Collected(rows=rows_df, models=models_df, datasets=datasets_df, failures=failures_df, score=score,
                     layer=layer, warnings=warnings, excluded=excluded, chat=chat_df, skipped=skipped,
                     perturbed=perturbed, controls=controls_df)


CONTROL_COLUMNS = ["config_name", "init", "init_seed", "revision", "tokens_per_step"]
ROW_COLUMNS = ["model", "dataset", "base_dataset", "kind", "metric", "variant", "value", "raw", "ceiled", "ceiling",
               "mad", "n_subjects", "layer", "synthetic", "path"]


def chat_mode(r: dict) -> str:
    """The result's model.chat_template; results from before the option are raw text ("none")."""
    meta = r["model"] if isinstance(r.get("model"), dict) else {}
    return str(meta.get("chat_template") or "none")


def _row(r: dict, name: str, label: str, raw, ceiled, used_layer, subj_ok: bool, score: str) -> dict:
    mad, n_subj = _mad(r, score, subj_ok)
    value = raw if score == "raw" else ceiled
    return {"model": name, "dataset": label, "base_dataset": str(r["dataset"]), "kind": dataset_kind(r),
            "metric": r.get("metric"), "variant": r["_variant"], "value": _score(value),
            "raw": raw, "ceiled": ceiled, "ceiling": r.get("ceiling"), "mad": mad, "n_subjects": n_subj,
            "layer": used_layer, "synthetic": bool(r.get("synthetic", False)), "path": r["_path"]}


def _score(value) -> float:
    """The table's value: a null or non-finite score is NaN, a score that does not exist (never None, never 0)."""
    rounded = _round(value, 12)
    return math.nan if rounded is None else rounded


def why_no_score(r: dict, score: str) -> str:
    """Why result `r` stores no `score`: a voxelwise run with no FDR-significant voxel says so in its counts."""
    voxels = r.get("voxel_summary") or {}
    if voxels.get("n_significant") == 0:
        return f"no voxel passed FDR q < {voxels.get('fdr_q', 'its fdr_q')}"
    return f"{score} = null in its result.json"


def no_score_notes(results: list, score: str) -> list[str]:
    """One note per dataset folder and reason for the results whose best-layer `score` is null, naming each
    by its model folder (<model>[-untrained-s<seed>|-rev-<revision>|-chat-user])."""
    found: dict[tuple, list] = {}
    for r in results:
        if r.get(score) is None:
            model, dataset = Path(r["_path"]).parts[-4:-2]
            found.setdefault((dataset, why_no_score(r, score)), []).append(model)
    return [f"{folder}: no {score} score for {', '.join(sorted(models))} ({why}); a score that does not exist, "
            "not 0: left out of every number that needs it" for (folder, why), models in sorted(found.items())]


def _one_per_run(df: pd.DataFrame, warnings: list, what: str = "") -> pd.DataFrame:
    """One row per (model, dataset[, chat_template]): identical copies are dropped (said so), differing ones refused."""
    keys = ["model", "dataset"] + (["chat_template"] if "chat_template" in df else [])
    dup = df[df.duplicated(keys, keep=False)]
    for (model, dataset, *_), g in dup.groupby(keys):
        if g["value"].nunique(dropna=False) > 1:
            raise MixedResults(f"{model} on {dataset}{what}: {len(g)} results with the same settings but different "
                               f"scores ({', '.join(g['path'])}); keep one of them")
        warnings.append(f"{model} on {dataset}{what}: {len(g)} identical results; one kept ({', '.join(g['path'])})")
    return df.drop_duplicates(keys, keep="first").reset_index(drop=True)
