"""The app's configuration: typed schemas (schema.py; each benchmark's and metric's own schema comes
from its declaration, brainalign/registry.py), their registration with Hydra, the rule that picks a
dataset's metric (select.py), and the checks run before any work (checks.py)."""

import os
from pathlib import Path

from omegaconf import OmegaConf

from brainalign import registry
from brainalign.config import schema
from brainalign.config.select import select_metric

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"   # the repository's conf/ (Hydra's config_path)


def run_subdir(task: str, model: str, dataset: str, metric: str, finetune: str | None = None, _root_=None) -> str:
    """The output folder of a job, deterministic so that a repeated sweep finds its finished runs. As Hydra's
    resolver (`_root_`: the whole config) it first checks the results folder and the names that become folders,
    before Hydra makes the job's folder."""
    if _root_ is not None:
        from brainalign.config.checks import check_paths

        check_paths(_root_)
    if task == "score":
        return f"{model}/{dataset}/{metric}"
    if task == "finetune":
        return f"finetune/{finetune}/{model}"
    return "analysis" if task == "analyze" else task


def results_root(results_dir: str) -> str:
    """results_dir, checked (hydra.sweep.dir: Hydra writes there before any job starts)."""
    from brainalign.config.checks import check_results_dir

    check_results_dir(results_dir)
    return results_dir


def cv_label(metric: str, native: str, cv) -> str:
    """The metric's name with its protocols when they are not its own: linear, linear-group, linear-shuffle+group."""
    from brainalign.benchmarks.protocols import check_protocols

    names = check_protocols([str(cv)] if isinstance(cv, str) else [str(c) for c in cv])
    return metric if names == [native] else f"{metric}-{'+'.join(names)}"


def tag(base: str, value, default, prefix: str = "") -> str:
    """base, or base-<prefix><value> when value is not the default (e.g. smollm2-135m-chat-user)."""
    return base if str(value) == str(default) else f"{base}-{prefix}{value}"


def model_dir(name: str, chat_template="none", localize=None, init="pretrained", init_seed=0, revision=None) -> str:
    """The model's folder name, tagged with each setting that changes what it computes (smollm2-135m-chat-user,
    smollm2-135m-localize-0.01, gpt2-untrained-s0, pythia-160m-rev-step1000), so such results never share a
    folder with the plain model's."""
    from brainalign.config.weights import model_label

    return tag(tag(model_label(name, init, init_seed, revision), chat_template, "none", "chat-"),
               localize, None, "localize-")


def _metric_dir(metric, kind, benchmark, dataset=None) -> str:
    """The folder of the metric that runs: metric=auto / study resolved by the benchmark's declaration."""
    return select_metric(str(metric), None if kind is None else str(kind), registry.benchmark(str(benchmark)),
                         f"dataset={dataset}" if dataset else "this dataset")


def register_schemas() -> None:
    """Store every schema under /schema/<group>/<kind>; the YAMLs under conf/ extend them. Once per
    process: storing converts each dataclass again (~0.25 s)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    if "schema_config.yaml" in cs.repo:
        return
    cs.store(name="schema_config", node=schema.Config)
    cs.store(group="schema/model", name="model", node=schema.ModelConfig)
    cs.store(group="schema/tracking", name="tracking", node=schema.TrackingConfig)
    cs.store(group="schema/paths", name="paths", node=schema.PathsConfig)
    for name, spec in registry.benchmarks().items():
        cs.store(group="schema/dataset", name=name, node=spec.schema)
    for kind, node in metric_schemas().items():
        cs.store(group="schema/metric", name=kind, node=node)


def metric_schemas() -> dict:
    """kind -> schema of every declared metric, and of metric=auto / study (`select`)."""
    return {**{kind: spec.schema for kind, spec in registry.metrics().items()}, "select": schema.SelectMetricConfig}


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("run_subdir"):
        OmegaConf.register_new_resolver("run_subdir", run_subdir)
    if not OmegaConf.has_resolver("metric_dir"):
        OmegaConf.register_new_resolver("metric_dir", _metric_dir)
    from brainalign.benchmarks.reduction import reduce_label
    from brainalign.config.subset import dataset_dir, subset_tag

    for name, fn in (("cv_label", cv_label), ("tag", tag), ("model_dir", model_dir), ("dataset_dir", dataset_dir),
                     ("subset_tag", subset_tag), ("results_root", results_root), ("reduce_label", reduce_label)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def setup() -> None:
    """What main.py and the tests do before Hydra composes: resolvers and schemas."""
    register_resolvers()
    register_schemas()


def quiet_libraries() -> None:
    """Library defaults for a batch tool: no telemetry, no hub pings when offline."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("WANDB_SILENT", "true")


def typed(node, kind_schema):
    """`node` (a dict or DictConfig, possibly partial) merged onto its schema's defaults; a node that
    already has the schema (part of the app's config) is returned as it is, interpolations intact."""
    if OmegaConf.is_config(node) and OmegaConf.get_type(node) is kind_schema:
        return node
    if node is not None and "defaults" in node:   # a conf/ file read as it is: its defaults list is Hydra's
        node = {k: v for k, v in node.items() if k != "defaults"} if isinstance(node, dict) else \
            OmegaConf.masked_copy(node, [k for k in node if k != "defaults"])
    base = OmegaConf.structured(kind_schema)
    return OmegaConf.merge(base, node if node is not None else {})


def model_config(node):
    return typed(node, schema.ModelConfig)


def dataset_config(node, kind: str | None = None):
    """A dataset config on its kind's schema (kind: its `benchmark`, or given for a partial dict)."""
    given = (node or {}).get("benchmark")
    kind = given or kind
    declared = registry.benchmarks()
    if kind not in declared:
        return node
    if not given:
        node = OmegaConf.merge({"benchmark": kind}, node if node is not None else {})
    return typed(node, declared[kind].schema)


def metric_config(node):
    kind = (node or {}).get("kind")
    schemas = metric_schemas()
    return typed(node, schemas[kind]) if kind in schemas else node
