"""Futrell2018-pearsonr: per-word surprisal vs. mean self-paced reading time on the Natural Stories.

dataset (conf/dataset/futrell.yaml) -> words in story order -> per-word surprisal of the whole corpus
read as one text (cached on disk) -> |Pearson r| with the mean RT, sentence-initial words dropped ->
ceiling (split-half on per-subject RTs where there are some, else Brain-Score's stored 0.858).
"""

import json
import logging
from pathlib import Path

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.errors import ConfigError, DataUnavailable
from brainalign.plumbing.cache import Cache, Checkpoint, text_hash
from brainalign.config.subset import subset_of
from brainalign.plumbing.io import write_text
from brainalign.config.schema import FutrellConfig, PearsonrMetricConfig
from brainalign.plumbing.profiling import Stages
from brainalign.registry import BenchmarkSpec, MetricSpec, declare, declare_metric

log = logging.getLogger(__name__)

CEILINGS = ("auto", "split_half", "stored")
WORDS = 10256           # Futrell2018: words of the ten Natural Stories (task=plan when not limited)
SURPRISAL_VERSION = 2  # bump when brainalign.surprisal changes its numbers (2: a BOS added by add_bos counts in
                       # exact's overflow), so that no stale cached surprisal is reused


def surprisal_settings(dataset_cfg, model: ModelProvider) -> dict:
    """The read-out settings that change the numbers (they key the cache and go into the result)."""
    s = dataset_cfg.surprisal
    settings = {"mode": s.mode, "window": s.window}
    if s.mode == "fast":
        settings.update(stride=int(s.stride), batch_size=int(s.batch_size))
    if model.cfg.arch == "encoder":  # masked LMs: the pseudo-log-likelihood variant
        settings["pll"] = s.pll
    elif model.cfg.arch != "causal":  # seq2seq: the T5 read-out matters
        settings["t5"] = s.t5
    return settings


CPU_FLOPS = 5e10        # what a 64-token SmolLM2 pass reaches on 2 cores (0.31 s, docs/behavior.md)
TOKENS_PER_WORD = 1.3   # Natural Stories, GPT-2 / Llama tokenizers


def exact_minutes(params: float, n_words: int, window: int) -> float:
    """Estimated minutes of exact surprisal on CPU: one pass per word over min(window, its context)."""
    context = np.minimum(window, TOKENS_PER_WORD * np.arange(1, n_words + 1))
    return float(2 * params * context.sum() / CPU_FLOPS / 60)


def announce(model: ModelProvider, n_words: int, settings: dict, subset: bool = False) -> None:
    """Say so before a job that will take long on CPU, with the faster options (a subset only when
    the run is not one already)."""
    if settings["mode"] != "exact" or model.device != "cpu":
        return
    window = settings["window"] or model.cfg.max_length or 2048
    minutes = exact_minutes(float(model.cfg.params or 1e8), n_words, window)
    if minutes > 5:
        faster = "dataset.surprisal.mode=fast" + ("" if subset else ", or a story subset (dataset.stories=[1,2])")
        print(f"[brainalign] exact surprisal: {n_words:,} forward passes of up to {window:,} tokens on CPU, roughly "
              f"{minutes:,.0f} min for {model.name} (checkpointed: an interrupted run resumes). Faster: "
              f"{faster}.", flush=True)


def cached_surprisal(model: ModelProvider, words, settings: dict, cache_dir, progress=True, subset=False):
    """(bits, info, file, from_cache): computed only on a cache miss, the model loaded only then; the
    computation checkpoints, so a killed or interrupted run resumes where it stopped."""
    cache = Cache(cache_dir, "surprisal", SURPRISAL_VERSION)
    key = f"{model.name.replace('/', '_')}-" + cache.key(model=model.fingerprint(), text=text_hash(words), **settings)
    with cache.lock(key):  # computed once when two jobs ask for it
        return _surprisal(model, words, settings, cache, key, progress, subset)


def _surprisal(model, words, settings, cache, key, progress, subset):
    from brainalign.surprisal import word_surprisal

    hit = cache.read(key)
    if hit is not None:
        log.info("surprisal from cache %s", cache.path(key))
        return hit["bits"], json.loads(str(hit["info"])), cache.path(key), True
    announce(model, len(words), settings, subset)
    checkpoint = Checkpoint(cache, key)
    result = word_surprisal(model.get(), words, mode=settings["mode"], stride=settings.get("stride", 64),
                            batch_size=settings.get("batch_size", 1), t5=settings.get("t5", "study"),
                            window=settings["window"], progress=progress, checkpoint=checkpoint,
                            pll=settings.get("pll", "original"))
    info = {"mode": result.mode, "readout": result.readout, "window": result.window, **result.settings}
    cache.write(key, bits=np.asarray(result.bits, dtype=np.float64), info=np.array(json.dumps(info, default=str)))
    checkpoint.drop()
    return result.bits, info, cache.path(key), False


class FutrellBenchmark:
    def __init__(self, dataset_cfg, metric_cfg=None):
        self.cfg = dataset_cfg
        self.ceiling_mode = str(dataset_cfg.ceiling)
        if self.ceiling_mode not in CEILINGS:
            raise ConfigError(f"dataset.ceiling={self.ceiling_mode!r}; choose one of {', '.join(CEILINGS)}")

    def ceiling(self, data) -> dict:
        from brainalign.metrics.reading_times import split_half_ceiling

        stored = float(self.cfg.stored_ceiling)
        subset = subset_of(self.cfg)
        if subset and (self.ceiling_mode == "stored" or data.per_subject is None):
            return {"ceiling": None, "ceiling_source": f"none: the stored ceiling is for all words, this run "
                    f"scores a subset ({subset}) without per-subject reading times"}
        if self.ceiling_mode == "stored" or (self.ceiling_mode == "auto" and data.per_subject is None):
            return {"ceiling": stored,
                    "ceiling_source": f"stored (Brain-Score's split-half value on its assembly, {stored})"}
        if data.per_subject is None:
            raise DataUnavailable("dataset.ceiling=split_half needs per-subject reading times "
                                  "(processed_RTs.tsv, the batch-2 file, or the Brain-Score assembly)")
        c = split_half_ceiling(data.per_subject.values, n_splits=int(self.cfg.ceiling_splits))
        return {"ceiling": c.value, "ceiling_source": f"split-half on {data.per_subject.description}",
                "ceiling_uncorrected": c.uncorrected, "ceiling_n_words": c.n_words}

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.futrell import load_futrell
        from brainalign.metrics.ceiling import ceiling_normalize
        from brainalign.metrics.reading_times import reading_time_alignment

        stages = Stages()
        with stages("load"):
            data = load_futrell(self.cfg, cache_dir=self.cfg.cache_dir)
        words = data.words.word.tolist()
        settings = surprisal_settings(self.cfg, model)
        with stages("extraction"):  # per-word surprisal
            bits, info, file, cached = cached_surprisal(model, words, settings, ctx.cache_dir, ctx.progress,
                                                        subset=subset_of(self.cfg) is not None)
        with stages("metric"):
            score = reading_time_alignment(bits, data.mean_rt, data.words.word_within_sentence_id.to_numpy())
        with stages("ceiling"):
            ceiling = self.ceiling(data)
        ceiled, unclipped = (ceiling_normalize(score.raw, ceiling["ceiling"]) if ceiling["ceiling"] is not None
                             else (None, None))
        table = data.words.assign(surprisal_bits=bits, mean_rt=data.mean_rt)
        csv = Path(file).with_suffix(".csv")
        if not csv.exists():
            write_text(csv, table.to_csv(index=False))
        return {
            "raw": score.raw, "ceiled": ceiled, **ceiling, "ceiled_unclipped": unclipped,
            "best_layer": None, "best_layer_index": None, "raw_cv": None, "n_layers": 0,
            "synthetic": bool(data.synthetic), "per_layer": [], "metric": "pearsonr",
            "rvalue": score.rvalue, "pvalue": score.pvalue, "n_words": score.n_words,
            "n_words_total": len(words), "excluded": score.excluded,
            "surprisal_mode": info["mode"], "surprisal_readout": info.get("readout"),
            "surprisal_window": info.get("window"),
            "surprisal_settings": info,
            "surprisal_cached": cached, "surprisal_file": str(csv), "data_source": data.source,
            **stages.report(ctx.device, model),
        }


def build(dataset_cfg, metric_cfg=None) -> FutrellBenchmark:
    return FutrellBenchmark(dataset_cfg, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """exact: one pass per word over its (truncated) context; fast: strided windows."""
    s = d.get("surprisal") or {}
    n = int(d.get("max_words") or WORDS) * tokens_per_word
    w = int(s.get("window") or window)
    if str(s.get("mode", "exact")) == "fast" and causal:
        stride = int(s.get("stride") or 64)
        return int(min(n, w) + max(0.0, n - w) / stride * w), 0, f"fast surprisal, stride {stride}"
    per_word = [min((i + 1) * tokens_per_word, w) for i in range(int(n / tokens_per_word))]
    return int(sum(per_word)), 0, "exact surprisal: one pass per word"


PEARSONR = declare_metric(MetricSpec("pearsonr", PearsonrMetricConfig, kinds=()))
SPEC = declare(BenchmarkSpec(
    name="futrell", kind="behaviour", schema=FutrellConfig, build=build,
    default_metric="pearsonr", metrics=("pearsonr",), study_metric="pearsonr",
    subset_keys={"stories": None, "max_words": None}, folder_keys={"surprisal.mode": "exact"},
    ceiling="computed", ceiling_missing="split-half over subjects' RTs where the data have them, else Brain-Score's "
                                        "stored 0.858 (dataset.ceiling=auto|split_half|stored)",
    locations=("path", "word_means", "subject_rts", "cache_dir"), data_files=("path", "word_means", "subject_rts"),
    cost=cost, study_column=3))

