"""Futrell2018-pearsonr: per-word surprisal vs. mean self-paced reading time on the Natural Stories.

dataset (conf/dataset/futrell.yaml) -> words in story order -> per-word surprisal of the whole corpus
read as one text (cached on disk) -> |Pearson r| with the mean RT, sentence-initial words dropped ->
ceiling (split-half on per-subject RTs where there are some, else Brain-Score's stored 0.858).
"""

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext, register
from brainalign.errors import ConfigError, DataUnavailable
from brainalign.io import atomic_file
from brainalign.locks import entry_lock

log = logging.getLogger(__name__)

CEILINGS = ("auto", "split_half", "stored")
SURPRISAL_VERSION = 2  # bump when brainalign.surprisal changes its numbers (2: a BOS added by add_bos counts in
                       # exact's overflow), so that no stale cached surprisal is reused


def _get(cfg, key, default=None):
    value = cfg.get(key) if cfg is not None else None
    return default if value is None else value


def surprisal_settings(dataset_cfg, model: ModelProvider) -> dict:
    """The read-out settings that change the numbers (they key the cache and go into the result)."""
    s = _get(dataset_cfg, "surprisal", {})
    mode = str(_get(s, "mode", "exact"))
    settings = {"mode": mode, "window": _get(s, "window", None)}
    if mode == "fast":
        settings.update(stride=int(_get(s, "stride", 64)), batch_size=int(_get(s, "batch_size", 1)))
    if str(model.cfg.get("arch") or "") != "causal":  # unknown or seq2seq: the T5 read-out matters
        settings["t5"] = str(_get(s, "t5", "study"))
    return settings


class SurprisalCache:
    """Per-word surprisal on disk: `<cache_dir>/surprisal/<model>-<key>.npz`, written atomically."""

    def __init__(self, cache_dir):
        self.dir = Path(cache_dir) / "surprisal"

    @staticmethod
    def key(fingerprint: str, words, settings: dict) -> str:
        text = hashlib.sha256("\n".join(words).encode()).hexdigest()
        blob = json.dumps({"model": fingerprint, "text": text, "version": SURPRISAL_VERSION, **settings},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def path(self, name: str, key: str) -> Path:
        return self.dir / f"{name.replace('/', '_')}-{key}.npz"

    def load(self, path: Path):
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as f:
            return f["bits"], json.loads(str(f["info"]))

    def save(self, path: Path, bits, info: dict) -> None:
        with atomic_file(path) as f:
            np.savez(f, bits=np.asarray(bits, dtype=np.float64), info=np.array(json.dumps(info, default=str)))


def cached_surprisal(model: ModelProvider, words, settings: dict, cache_dir, progress=True):
    """(bits, info, from_cache): computed only on a cache miss, the model loaded only then."""
    from brainalign.surprisal import word_surprisal

    cache = SurprisalCache(cache_dir)
    path = cache.path(model.name, cache.key(model.fingerprint(), words, settings))
    with entry_lock(path):  # computed once when two jobs ask for it
        hit = cache.load(path)
        if hit is not None:
            log.info("surprisal from cache %s", path)
            return hit[0], dict(hit[1], file=str(path)), True
        result = word_surprisal(model.get(), words, mode=settings["mode"], stride=settings.get("stride", 64),
                                batch_size=settings.get("batch_size", 1), t5=settings.get("t5", "study"),
                                window=settings.get("window"), progress=progress)
        info = {"mode": result.mode, "readout": result.readout, "window": result.window, **result.settings}
        cache.save(path, result.bits, info)
        return result.bits, dict(info, file=str(path)), False


class FutrellBenchmark:
    def __init__(self, dataset_cfg, metric_cfg=None):
        self.cfg = dataset_cfg
        metric = _get(metric_cfg, "name", "pearsonr")
        if metric != "pearsonr":
            log.warning("Futrell2018 is scored with pearsonr (Brain-Score's Futrell2018-pearsonr); "
                        "metric=%s does not apply and is ignored", metric)
        self.ceiling_mode = str(_get(dataset_cfg, "ceiling", "auto"))
        if self.ceiling_mode not in CEILINGS:
            raise ConfigError(f"dataset.ceiling={self.ceiling_mode!r}; choose one of {', '.join(CEILINGS)}")

    def ceiling(self, data) -> dict:
        from brainalign.datasets.futrell import STORED_CEILING
        from brainalign.metrics.reading_times import split_half_ceiling

        stored = float(_get(self.cfg, "stored_ceiling", STORED_CEILING))
        if self.ceiling_mode == "stored" or (self.ceiling_mode == "auto" and data.per_subject is None):
            return {"ceiling": stored,
                    "ceiling_source": f"stored (Brain-Score's split-half value on its assembly, {stored})"}
        if data.per_subject is None:
            raise DataUnavailable("dataset.ceiling=split_half needs per-subject reading times "
                                  "(processed_RTs.tsv, the batch-2 file, or the Brain-Score assembly)")
        c = split_half_ceiling(data.per_subject.values, n_splits=int(_get(self.cfg, "ceiling_splits", 10)))
        return {"ceiling": c.value, "ceiling_source": f"split-half on {data.per_subject.description}",
                "ceiling_uncorrected": c.uncorrected, "ceiling_n_words": c.n_words}

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.futrell import load_futrell
        from brainalign.metrics.ceiling import ceiling_normalize
        from brainalign.metrics.reading_times import reading_time_alignment

        data = load_futrell(self.cfg, cache_dir=_get(self.cfg, "cache_dir", None))
        words = data.words.word.tolist()
        settings = surprisal_settings(self.cfg, model)
        started = time.perf_counter()
        bits, info, cached = cached_surprisal(model, words, settings, ctx.cache_dir, ctx.progress)
        seconds = time.perf_counter() - started
        score = reading_time_alignment(bits, data.mean_rt, data.words.word_within_sentence_id.to_numpy())
        ceiling = self.ceiling(data)
        ceiled, unclipped = ceiling_normalize(score.raw, ceiling["ceiling"])
        table = data.words.assign(surprisal_bits=bits, mean_rt=data.mean_rt)
        csv = Path(info["file"]).with_suffix(".csv")
        if not csv.exists():
            table.to_csv(csv, index=False)
        return {
            "raw": score.raw, "ceiled": ceiled, **ceiling, "ceiled_unclipped": unclipped,
            "best_layer": None, "best_layer_index": None, "raw_cv": None, "n_layers": 0,
            "synthetic": bool(data.synthetic), "per_layer": [], "metric": "pearsonr",
            "rvalue": score.rvalue, "pvalue": score.pvalue, "n_words": score.n_words,
            "n_words_total": len(words), "excluded": score.excluded,
            "surprisal_mode": info["mode"], "surprisal_readout": info.get("readout"),
            "surprisal_window": info.get("window"),
            "surprisal_settings": {k: v for k, v in info.items() if k != "file"},
            "surprisal_cached": cached, "surprisal_file": str(csv), "data_source": data.source,
            "timings": {"surprisal_s": round(seconds, 3)},
        }


@register("futrell")
def build(dataset_cfg, metric_cfg=None) -> FutrellBenchmark:
    return FutrellBenchmark(dataset_cfg, metric_cfg)

