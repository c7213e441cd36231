"""Model properties the alignment is correlated with: size, MMLU, BBH (overall and per category), NWP loss.

By default they are the study's own figures, stored in each model config (`properties:`; Table 7 of
Aw et al. gives MMLU, BBH and WikiText-2 NWP loss overall, for instruction-tuned models only). A CSV
or JSON file of your own (for example written by `lm_eval_properties` below) overrides them per model.
A property nobody measured stays missing and the report says so; nothing is filled in.
"""

import copy
import json
import math
import os
from pathlib import Path

import pandas as pd

from brainalign.errors import ConfigError, DataUnavailable
from brainalign.plumbing.io import write_text

from brainalign.config import CONF_DIR

MODEL_CONF_DIR = CONF_DIR / "model"

# MMLU's 4 domains (instruct-eval / lm-eval `mmlu_<domain>` groups) and BBH's 5 groups (the study's Table 2).
MMLU_CATEGORIES = ("mmlu_stem", "mmlu_humanities", "mmlu_social_sciences", "mmlu_other")
BBH_CATEGORIES = ("bbh_algorithmic", "bbh_language", "bbh_world_knowledge", "bbh_multilingual", "bbh_other")
BENCHMARK_PROPERTIES = ("mmlu", *MMLU_CATEGORIES, "bbh", *BBH_CATEGORIES)   # one FDR family (the study's Table 2)
PROPERTIES = ("log10_params", *BENCHMARK_PROPERTIES, "nwp")
LABELS = {
    "log10_params": "log10 parameter count", "mmlu": "MMLU overall", "mmlu_stem": "MMLU STEM",
    "mmlu_humanities": "MMLU Humanities", "mmlu_social_sciences": "MMLU Social Sciences", "mmlu_other": "MMLU Others",
    "bbh": "BBH overall", "bbh_algorithmic": "BBH Algorithmic & arithmetic", "bbh_language": "BBH Language understanding",
    "bbh_world_knowledge": "BBH World knowledge", "bbh_multilingual": "BBH Multilingual", "bbh_other": "BBH Others",
    "nwp": "next-word-prediction loss (WikiText-2)",
}

# The 23 BBH tasks in the study's 5 groups (8/3/5/1/6 tasks, Table 2). The paper names only four of the
# world-knowledge tasks; date_understanding as the fifth, and the rest of this mapping, are INFERRED.
BBH_TASK_GROUPS = {
    "bbh_algorithmic": ("boolean_expressions", "dyck_languages", "multistep_arithmetic_two", "navigate",
                        "object_counting", "tracking_shuffled_objects", "web_of_lies", "word_sorting"),
    "bbh_language": ("disambiguation_qa", "hyperbaton", "snarks"),
    "bbh_world_knowledge": ("sports_understanding", "movie_recommendation", "causal_judgement", "ruin_names",
                            "date_understanding"),
    "bbh_multilingual": ("salient_translation_error_detection",),
    "bbh_other": ("formal_fallacies", "geometric_shapes", "logical_deduction", "penguins_in_a_table",
                  "reasoning_about_colored_objects", "temporal_sequences"),
}


_LOADED: dict = {}  # (folder, resolve, each file's name, mtime, size) -> {name: config dict}


def load_model_configs(conf_dir=None, resolve: bool = False) -> dict[str, dict]:
    """{name: config dict} of every conf/model/*.yaml (interpolations such as paths resolved if asked)."""
    from omegaconf import OmegaConf

    from brainalign.config.presets import model_file

    conf_dir = Path(conf_dir or MODEL_CONF_DIR)
    if not conf_dir.is_dir():
        raise ConfigError(f"model config folder {conf_dir} "
                          + ("is a file, not a folder" if conf_dir.exists() else "does not exist"))
    files = sorted(conf_dir.glob("*.yaml"))
    stats = [f.stat() for f in files]
    key = (str(conf_dir.resolve()), resolve, tuple((f.name, s.st_mtime_ns, s.st_size) for f, s in zip(files, stats)))
    if key not in _LOADED:  # typing 40 files on the schema takes ~1 s; read again only when one changes
        out = {}
        for f in files:
            cfg = OmegaConf.to_container(model_file(f, resolve_paths=resolve), resolve=resolve)
            out[str(cfg.get("name", f.stem))] = cfg
        _LOADED[key] = out
    return copy.deepcopy(_LOADED[key])


def _float(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def study_properties(configs: dict[str, dict]) -> pd.DataFrame:
    """Properties from the model configs: one row per model, NaN where the config has none."""
    rows = {}
    for name, cfg in configs.items():
        props = cfg.get("properties") or {}
        params = _float(cfg.get("params"))
        row = {"params": params, "log10_params": math.log10(params) if params > 0 else math.nan}
        for key in BENCHMARK_PROPERTIES + ("nwp",):
            row[key] = _float(props.get(key))
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=["params", *PROPERTIES])


def read_properties(path) -> pd.DataFrame:
    """A user's properties: CSV with a `model` column, or JSON {model: {property: value}}."""
    path = Path(path)
    if not path.is_file():
        raise DataUnavailable(f"properties file {path} "
                              + ("is a folder, not a file" if path.is_dir() else "does not exist"))
    if path.suffix == ".json":
        df = pd.DataFrame.from_dict(json.loads(path.read_text()), orient="index")
    else:
        df = pd.read_csv(path, comment="#").set_index("model")
    unknown = [c for c in df.columns if c not in PROPERTIES and c != "params"]
    if unknown:
        raise ConfigError(f"{path}: unknown properties {unknown}; known: {', '.join(('params',) + PROPERTIES)}")
    df = df.apply(pd.to_numeric, errors="coerce")
    if "params" in df and "log10_params" not in df:
        df["log10_params"] = df["params"].map(lambda p: math.log10(p) if p > 0 else math.nan)
    return df


def merge_properties(base: pd.DataFrame, override: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Override `base` with the non-missing values of `override`; also return where each value came from."""
    source = pd.DataFrame("model config", index=base.index, columns=base.columns).where(base.notna(), "")
    if override is None or override.empty:
        return base, source
    merged = base.reindex(base.index.union(override.index))
    source = source.reindex(merged.index).fillna("")
    for col in override.columns:
        if col not in merged:
            merged[col], source[col] = math.nan, ""
        given = override[col].dropna()
        merged.loc[given.index, col] = given
        source.loc[given.index, col] = "properties file"
    return merged, source


# --------------------------------------------------------------------------------------------------
# Computing MMLU / BBH with EleutherAI's lm-evaluation-harness (`pip install lm-eval`), where a user has
# the weights. NOT what the study used (declare-lab/instruct-eval, 5-shot MMLU, 3-shot BBH, prompts and
# answer matching of its own), so expect numbers near but not equal to Table 7.

def lm_eval_model_args(model_cfg) -> str:
    src = model_cfg.get("path") or model_cfg.get("hf_id")
    if not src:
        raise ConfigError(f"model {model_cfg.get('name')!r} has neither path nor hf_id for lm-eval")
    args = [f"pretrained={os.path.expanduser(str(src))}", f"dtype={model_cfg.get('dtype') or 'float32'}"]
    if model_cfg.get("revision"):
        args.append(f"revision={model_cfg['revision']}")
    if model_cfg.get("device_map") == "auto":
        args.append("parallelize=True")
    if model_cfg.get("load_in_8bit"):
        args.append("load_in_8bit=True")
    return ",".join(args)


def properties_from_lm_eval(results: dict) -> dict:
    """Our property names from an lm-eval results dict ({'results': {task: {'acc,none': ...}}})."""
    res = results.get("results", results)

    def metric(task, names=("acc,none", "exact_match,none", "exact_match,get-answer")):
        for n in names:
            if task in res and n in res[task]:
                return float(res[task][n])
        return math.nan

    out = {"mmlu": metric("mmlu")}
    for cat in MMLU_CATEGORIES:
        out[cat] = metric(cat)
    # BBH as the study averages it: the mean over the 23 tasks (a task with variants = their mean)
    per_task = {}
    for task, values in res.items():
        if task.startswith("bbh_fewshot_"):
            name = task[len("bbh_fewshot_"):]
            for multi in ("logical_deduction", "tracking_shuffled_objects"):
                name = multi if name.startswith(multi) else name
            per_task.setdefault(name, []).append(metric(task))
    task_score = {t: sum(v) / len(v) for t, v in per_task.items()}
    for group, tasks in BBH_TASK_GROUPS.items():
        vals = [task_score[t] for t in tasks if t in task_score]
        out[group] = sum(vals) / len(vals) if len(vals) == len(tasks) else math.nan
    out["bbh"] = sum(task_score.values()) / len(task_score) if len(task_score) == 23 else math.nan
    return out


def lm_eval_properties(model_cfg, *, mmlu_shots: int = 5, bbh_shots: int = 3, batch_size="auto",
                       device: str = "cuda", limit: int | None = None) -> dict:
    """MMLU (5-shot) and BBH (3-shot, no chain of thought) for one model config, with lm-eval."""
    try:
        import lm_eval
    except ImportError:
        raise DataUnavailable("computing MMLU/BBH needs EleutherAI's harness: pip install lm-eval") from None
    model_args = lm_eval_model_args(model_cfg)
    merged: dict = {}
    for tasks, shots in ((["mmlu"], mmlu_shots), (["bbh_fewshot"], bbh_shots)):
        out = lm_eval.simple_evaluate(model="hf", model_args=model_args, tasks=tasks, num_fewshot=shots,
                                      batch_size=batch_size, device=device, limit=limit)
        merged.update(out["results"])
    return properties_from_lm_eval({"results": merged})


def main(argv=None) -> int:
    """python -m brainalign.analysis.properties --models flan-t5-xl vicuna-7b --out properties.json"""
    import argparse
    import sys

    from brainalign.errors import BrainalignError

    parser = argparse.ArgumentParser(prog="python -m brainalign.analysis.properties",
                                     description="Compute MMLU/BBH properties with lm-eval; the file feeds --properties.")
    parser.add_argument("--models", nargs="+", required=True, help="model config names")
    parser.add_argument("--out", required=True, help="JSON file; existing entries for other models are kept")
    parser.add_argument("--conf", default=str(MODEL_CONF_DIR), help="model config folder")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--limit", type=int, default=None, help="examples per task (a quick check, not a score)")
    args = parser.parse_args(argv)
    try:
        configs = load_model_configs(args.conf, resolve=True)
        out = Path(args.out)
        table = json.loads(out.read_text()) if out.exists() else {}
        for name in args.models:
            if name not in configs:
                raise ConfigError(f"no model config {name!r} in {args.conf}")
            table[name] = lm_eval_properties(configs[name], device=args.device, limit=args.limit)
            write_text(out, json.dumps(table, indent=2))
            print(name, table[name])
    except BrainalignError as e:
        print(f"[brainalign] error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
