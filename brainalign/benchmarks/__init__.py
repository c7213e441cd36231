"""Benchmarks bind a dataset to a presentation, a metric and a ceiling.

Each benchmark module declares itself once, at its end (brainalign/registry.py):

    SPEC = declare(BenchmarkSpec(name="pereira", kind="brain", schema=PereiraConfig, build=build, ...))

where `build(dataset_cfg, metric_cfg)` returns an object whose `run(model, ctx) -> dict` returns the
result (keys in docs/design.md).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from brainalign import registry
from brainalign.errors import ConfigError


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
        self.load_seconds = None  # wall time of load_model, when this run loaded it (brainalign.plumbing.profiling)

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


def build(dataset_cfg, metric_cfg) -> Benchmark:
    """The benchmark a dataset config names, with its typed dataset and metric configs; a metric the
    benchmark does not take is refused."""
    from brainalign.config import dataset_config, metric_config

    dataset_cfg, metric_cfg = dataset_config(dataset_cfg), metric_config(metric_cfg)
    spec = registry.benchmark(dataset_cfg.get("benchmark"))
    kind = metric_cfg.get("kind") if metric_cfg is not None else None
    if kind is not None and not spec.accepts(str(kind)):
        raise ConfigError(f"dataset={dataset_cfg.get('name')} cannot be scored with metric={metric_cfg.get('name')}; "
                          f"it supports: {', '.join(spec.accepted())}")
    from brainalign.datasets.perturb import perturbation_of

    perturbation = perturbation_of(dataset_cfg, spec)
    bench = spec.build(dataset_cfg, metric_cfg)
    if perturbation is not None:   # applied by the benchmark where its stimuli go to presentation
        if not hasattr(bench, "perturb"):
            raise ConfigError(f"benchmark {spec.name!r} declares perturbations but its benchmark has no `perturb`")
        bench.perturb = perturbation
    return bench
