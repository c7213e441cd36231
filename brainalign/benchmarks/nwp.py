"""Next-word-prediction loss on WikiText-2 test (conf/dataset/wikitext2.yaml + conf/metric/nwp.yaml).

Not an alignment score: `raw` is the loss in nats per token (lower is better), there is no ceiling.
The result is cached on disk per model, text and settings, so a re-run never loads the model.
"""

import logging

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.plumbing.cache import Cache, Checkpoint, text_hash
from brainalign.config.schema import NWPDatasetConfig, NWPMetricConfig
from brainalign.plumbing.profiling import Stages
from brainalign.registry import BenchmarkSpec, MetricSpec, declare, declare_metric

log = logging.getLogger(__name__)
VERSION = 1
WIKITEXT2_TOKENS = 287_644  # WikiText-2 test in GPT-2 tokens (task=plan)
SETTINGS = ("context", "stride", "batch_size", "max_tokens", "t5")


class NWPBenchmark:
    def __init__(self, dataset_cfg, metric_cfg):
        self.dataset_cfg = dataset_cfg
        self.settings = {k: metric_cfg[k] for k in SETTINGS}

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.wikitext import load_wikitext2

        stages = Stages()
        with stages("load"):
            text, source = load_wikitext2(self.dataset_cfg)
        cache = Cache(ctx.cache_dir, "nwp", VERSION)
        key = f"{model.name.replace('/', '_')}-" + cache.key(model=model.fingerprint(), text=text_hash([text]),
                                                             **self.settings)
        with cache.lock(key):  # computed once when two jobs ask for it
            return self._run(model, ctx, text, source, cache, key, stages)

    def _run(self, model, ctx, text, source, cache, key, stages):
        from brainalign.surprisal.loss import nwp_loss

        if (out := cache.read_json(key)) is not None:
            return {**out, "cached": True, **stages.report(ctx.device, model)}  # this run's cost, not the stored run's
        checkpoint = Checkpoint(cache, key)
        with stages("extraction"):  # the loss is computed in the same passes: no separate metric stage
            r = nwp_loss(model.get(), text, context=self.settings["context"], stride=self.settings["stride"],
                         batch_size=int(self.settings["batch_size"]), max_tokens=self.settings["max_tokens"],
                         t5=str(self.settings["t5"]), progress=ctx.progress, checkpoint=checkpoint)
        out = {
            "raw": r.loss, "ceiled": None, "ceiling": None, "best_layer": None, "best_layer_index": None,
            "raw_cv": None, "n_layers": 0, "synthetic": False, "per_layer": [], "metric": "nwp",
            "nwp_loss": r.loss, "unit": "nats/token", "perplexity": r.perplexity, "n_tokens": r.n_tokens,
            "context": r.context, "stride": r.stride, "passes": r.passes, "computed": r.computed,
            "data_source": source, "cached": False, **stages.report(ctx.device, model, nwp_s=r.seconds),
        }
        cache.write_json(key, out)
        checkpoint.drop()
        return out


def build(dataset_cfg, metric_cfg=None) -> NWPBenchmark:
    return NWPBenchmark(dataset_cfg, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    return WIKITEXT2_TOKENS, 0, "WikiText-2 test, strided windows not counted"


NWP = declare_metric(MetricSpec("nwp", NWPMetricConfig, kinds=()))
SPEC = declare(BenchmarkSpec(
    name="nwp", kind="language-model", schema=NWPDatasetConfig, build=build,
    default_metric="nwp", metrics=("nwp",), ceiling="none", ceiling_missing="a loss, not an alignment: no ceiling",
    locations=("path",), data_files=("path",), cost=cost))
