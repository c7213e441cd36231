"""What each benchmark and metric is, declared once (BenchmarkSpec, MetricSpec).

A benchmark module declares itself with `declare(BenchmarkSpec(...))`; a metric with
`declare_metric(MetricSpec(...))`. Everything that needs to know about a benchmark (the config's
schemas, metric selection, subsets, the settings key, the cost plan, the analysis) asks here; no
other module keeps a list of benchmark names.

The built-in declarations live in the modules of BUILTIN; a user's own (docs/extending.md) in the
modules named by the environment variable BRAINALIGN_PLUGINS (module names or .py files, separated by
commas) or by a package's `brainalign.plugins` entry point. They are imported on first use.
"""

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from brainalign.errors import ConfigError

KINDS = ("brain", "behaviour", "language-model")
CEILINGS = ("stored", "computed", "none")
BUILTIN = ("brainalign.benchmarks.synthetic", "brainalign.benchmarks.pereira", "brainalign.benchmarks.blank",
           "brainalign.benchmarks.tuckute", "brainalign.benchmarks.fedorenko", "brainalign.benchmarks.futrell",
           "brainalign.benchmarks.wehbe", "brainalign.benchmarks.nwp", "brainalign.benchmarks.syntaxgym",
           "brainalign.benchmarks.brain_metrics", "brainalign.benchmarks.lebel2023", "brainalign.benchmarks.narratives")
# dataset.perturb's text perturbations (brainalign/datasets/perturb.py); a benchmark declares those it takes
PERTURBATIONS = ("scramble-words", "shuffle-sentences", "content-words", "function-words", "random-words")
WORD_PERTURBATIONS = ("scramble-words", "random-words")  # for stimuli that are single words
PLUGINS_ENV, ENTRY_POINTS = "BRAINALIGN_PLUGINS", "brainalign.plugins"


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark: what its dataset configs name in `benchmark:`, and all that follows from it."""
    name: str                          # the `benchmark:` of its dataset configs (several may share it)
    kind: str                          # brain | behaviour | language-model
    schema: type                       # the dataclass its dataset configs extend (/schema/dataset/<name>)
    build: Callable                    # (dataset_cfg, metric_cfg) -> an object with run(model, ctx) -> dict
    default_metric: str                # metric=auto
    metrics: tuple = ()                # metric kinds it accepts; () = every metric declared for its kind
    exclude_metrics: tuple = ()        # metric kinds of its kind it refuses
    study_metric: Optional[str] = None  # metric=study: what Aw et al. (2024) ran
    subset_keys: dict = field(default_factory=dict)  # dataset key -> its full-data value
    folder_keys: dict = field(default_factory=dict)  # dataset key (dotted) -> its default; another value names the folder
    ceiling: str = "none"              # stored | computed | none (the default metric's)
    ceiling_missing: str = "no ceiling: ceiled is null"  # what happens when the ceiling cannot be had
    locations: tuple = ()              # dataset keys that say where things are, never settings
    data_files: tuple = ()             # of those, the ones whose contents the score depends on (hashed)
    cost: Optional[Callable] = None    # (dataset_cfg, model_cfg, tokens_per_word, window, causal) -> (tokens, stimuli, note)
    study_column: Optional[int] = None  # its column in the study's tables (the analysis' order)
    perturbations: tuple = ()          # the text perturbations its stimuli take (dataset.perturb; docs/controls.md)
    stimulus_unit: str = "sentence"    # one stimulus is a sentence (or fragment) | a word (its passage a sentence)

    def accepts(self, metric_kind: str) -> bool:
        if self.metrics:
            return metric_kind in self.metrics
        spec = METRICS.get(metric_kind)
        return spec is not None and self.kind in spec.kinds and metric_kind not in self.exclude_metrics

    def accepted(self) -> list:
        """The metric kinds it takes, its default's first."""
        kinds = list(self.metrics) or [k for k in METRICS if self.accepts(k)]
        return sorted(kinds, key=lambda k: k != self.default_metric)


@dataclass(frozen=True)
class MetricSpec:
    """One metric kind: its config schema, which benchmarks take it, and how a brain benchmark scores it."""
    kind: str                          # the `kind:` of its metric configs
    schema: type                       # the dataclass its metric configs extend (/schema/metric/<kind>)
    kinds: tuple = ("brain",)          # the benchmark kinds that accept it (unless a benchmark names its own)
    score: Optional[Callable] = None   # brain metrics: (X [layers, n, d], data, metric_cfg, protocol, device) -> [Score]
    ceiled: bool = True                # False: a similarity or a gain, never divided by a ceiling
    protocols: bool = False            # True: metric.cv picks the cross-validation protocol(s)
    ceiling_per_model: bool = False    # True: a result's ceiling is a mean over the model's own units (voxelwise:
                                       # its significant voxels), so results of one dataset differ in it


BENCHMARKS: dict = {}
METRICS: dict = {}
_loaded = False


def declare(spec: BenchmarkSpec) -> BenchmarkSpec:
    if spec.kind not in KINDS:
        raise ConfigError(f"benchmark {spec.name!r}: kind={spec.kind!r}; choose one of {KINDS}")
    if spec.ceiling not in CEILINGS:
        raise ConfigError(f"benchmark {spec.name!r}: ceiling={spec.ceiling!r}; choose one of {CEILINGS}")
    if spec.stimulus_unit not in ("sentence", "word"):
        raise ConfigError(f"benchmark {spec.name!r}: stimulus_unit={spec.stimulus_unit!r}; choose sentence or word")
    if any(p not in PERTURBATIONS for p in spec.perturbations) or (
            spec.stimulus_unit == "word" and any(p not in WORD_PERTURBATIONS for p in spec.perturbations)):
        raise ConfigError(f"benchmark {spec.name!r}: perturbations={spec.perturbations}; choose from "
                          f"{PERTURBATIONS if spec.stimulus_unit == 'sentence' else WORD_PERTURBATIONS}")
    unknown = [k for k in spec.data_files if k not in spec.locations]
    if unknown:
        raise ConfigError(f"benchmark {spec.name!r}: data_files {unknown} are not among its locations")
    BENCHMARKS[spec.name] = spec
    return spec


def declare_metric(spec: MetricSpec) -> MetricSpec:
    METRICS[spec.kind] = spec
    return spec


def _import(name: str):
    """A module by dotted name, or a .py file by path."""
    try:
        if name.endswith(".py"):
            path = Path(os.path.expanduser(name)).resolve()
            if not path.is_file():
                raise ConfigError(f"{PLUGINS_ENV}: {name} is not a file")
            modname = f"brainalign_plugin_{path.stem}"
            if modname in sys.modules:
                return sys.modules[modname]
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[modname]
                raise
            return module
        return importlib.import_module(name)
    except ConfigError:
        raise
    except Exception as e:   # a plugin that cannot be imported: one line naming it
        raise ConfigError(f"cannot load brainalign plugin {name!r}: {type(e).__name__}: {e}") from e


def plugin_names() -> list:
    """The user's plugin modules: BRAINALIGN_PLUGINS, then installed packages' entry points."""
    names = [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    from importlib.metadata import entry_points

    names += [ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINTS)]
    return names


def plugin_conf_dirs() -> list:
    """Config folders that plugins bring (a `conf/` beside a plugin file, or its module's CONF_DIR)."""
    load()
    dirs = []
    for name in plugin_names():
        module = _import(name)
        folder = getattr(module, "CONF_DIR", None) or Path(module.__file__).resolve().parent / "conf"
        if Path(folder).is_dir():
            dirs.append(str(Path(folder).resolve()))
    return list(dict.fromkeys(dirs))


def load() -> None:
    """Import every declaration once: the built-in benchmarks and metrics, then the plugins."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    try:
        for name in BUILTIN:
            importlib.import_module(name)
        for name in plugin_names():
            _import(name)
    except BaseException:
        _loaded = False
        raise


def benchmark(name) -> BenchmarkSpec:
    load()
    if name not in BENCHMARKS:
        raise ConfigError(f"no benchmark named {name!r}; declared: {', '.join(sorted(BENCHMARKS))}")
    return BENCHMARKS[name]


def metric(kind) -> MetricSpec:
    load()
    if kind not in METRICS:
        raise ConfigError(f"metric.kind={kind!r}: no such metric; declared: {', '.join(sorted(METRICS))}")
    return METRICS[kind]


def benchmarks() -> dict:
    load()
    return dict(BENCHMARKS)


def metrics() -> dict:
    load()
    return dict(METRICS)

