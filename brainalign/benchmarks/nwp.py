"""Next-word-prediction loss on WikiText-2 test (conf/dataset/wikitext2.yaml + conf/metric/nwp.yaml).

Not an alignment score: `raw` is the loss in nats per token (lower is better), there is no ceiling.
The result is cached on disk per model, text and settings, so a re-run never loads the model.
"""

import hashlib
import json
import logging
from pathlib import Path

from brainalign.benchmarks import ModelProvider, RunContext, register
from brainalign.io import atomic_file
from brainalign.locks import entry_lock

log = logging.getLogger(__name__)

DEFAULTS = {"context": None, "stride": None, "batch_size": 1, "max_tokens": None, "t5": "shifted"}


class NWPBenchmark:
    def __init__(self, dataset_cfg, metric_cfg=None):
        self.dataset_cfg = dataset_cfg
        name = metric_cfg.get("name") if metric_cfg is not None else None
        if name not in (None, "nwp"):
            log.warning("dataset %s is scored with metric=nwp; metric=%s does not apply, using nwp defaults %s",
                        dataset_cfg.get("name"), name, DEFAULTS)
            metric_cfg = None
        self.settings = {k: (metric_cfg.get(k) if metric_cfg is not None and metric_cfg.get(k) is not None else v)
                         for k, v in DEFAULTS.items()}

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.wikitext import load_wikitext2
        from brainalign.nwp import nwp_loss

        text, source = load_wikitext2(self.dataset_cfg)
        key = {"model": model.fingerprint(), "text": hashlib.sha256(text.encode()).hexdigest(), **self.settings}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
        path = Path(ctx.cache_dir) / "nwp" / f"{model.name.replace('/', '_')}-{digest}.json"
        with entry_lock(path):  # computed once when two jobs ask for it
            if path.exists():
                out = json.loads(path.read_text())
                out["cached"] = True
                return out
            r = nwp_loss(model.get(), text, context=self.settings["context"], stride=self.settings["stride"],
                         batch_size=int(self.settings["batch_size"]), max_tokens=self.settings["max_tokens"],
                         t5=str(self.settings["t5"]), progress=ctx.progress)
            out = {
                "raw": r.loss, "ceiled": None, "ceiling": None, "best_layer": None, "best_layer_index": None,
                "raw_cv": None, "n_layers": 0, "synthetic": False, "per_layer": [], "metric": "nwp",
                "nwp_loss": r.loss, "unit": "nats/token", "perplexity": r.perplexity, "n_tokens": r.n_tokens,
                "context": r.context, "stride": r.stride, "passes": r.passes, "computed": r.computed,
                "data_source": source, "timings": {"nwp_s": r.seconds}, "cached": False,
            }
            with atomic_file(path, "w") as f:
                json.dump(out, f, indent=1)
            return out


@register("nwp")
def build(dataset_cfg, metric_cfg=None) -> NWPBenchmark:
    return NWPBenchmark(dataset_cfg, metric_cfg)
