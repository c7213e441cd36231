"""Benchmarks bind a dataset to a presentation, a metric and a ceiling.

A benchmark module registers a factory under the name a dataset config gives in `benchmark:`:

    @register("pereira")
    def build(dataset_cfg, metric_cfg) -> Benchmark

and the Benchmark's `run(model, ctx) -> dict` returns the result (keys in docs/design.md).
"""

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from brainalign.errors import ConfigError

REGISTRY: dict[str, Callable] = {}
MODULES = ("synthetic", "brain", "futrell", "wehbe", "nwp", "syntaxgym")  # imported on first use


def register(name: str):
    def deco(factory):
        REGISTRY[name] = factory
        return factory
    return deco


@dataclass
class RunContext:
    cache_dir: Path
    device: str = "cpu"
    progress: bool = True
    extra: dict = field(default_factory=dict)


class ModelProvider:
    """Gives the model to a benchmark only when it needs it: cached features never load weights."""

    def __init__(self, cfg, device: str = "cpu", loaded=None):
        from brainalign.config import model_config

        self.cfg, self.device, self._lm = model_config(cfg), device, loaded
        self.load_seconds = None  # wall time of load_model, when this run loaded it (brainalign.profiling)

    @property
    def name(self) -> str:
        return str(self.cfg.name)

    def fingerprint(self) -> str:
        from brainalign.models.load import fingerprint

        return fingerprint(self.cfg)

    def get(self):
        if self._lm is None:
            import time

            from brainalign.models.load import load_model

            t0 = time.perf_counter()
            self._lm = load_model(self.cfg, device=self.device)
            self.load_seconds = time.perf_counter() - t0
        return self._lm

    @property
    def loaded(self) -> bool:
        return self._lm is not None


class Benchmark(Protocol):
    def run(self, model: ModelProvider, ctx: RunContext) -> dict: ...


def registered() -> dict[str, Callable]:
    """Every benchmark factory, by the name a dataset config gives in `benchmark:`."""
    for mod in MODULES:
        importlib.import_module(f"brainalign.benchmarks.{mod}")
    return REGISTRY


def build(dataset_cfg, metric_cfg) -> Benchmark:
    """The benchmark a dataset config names, with its typed dataset and metric configs."""
    from brainalign.config import dataset_config, metric_config

    registered()
    dataset_cfg, metric_cfg = dataset_config(dataset_cfg), metric_config(metric_cfg)
    name = dataset_cfg.get("benchmark")
    if name not in REGISTRY:
        raise ConfigError(f"dataset {dataset_cfg.get('name')!r} names benchmark {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name](dataset_cfg, metric_cfg)
