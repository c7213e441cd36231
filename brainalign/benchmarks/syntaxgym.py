"""SyntaxGym-2020: targeted syntactic evaluation by region surprisal (Brain-Score's `SyntaxGym-2020`).

suites (brainalign/datasets/syntaxgym.py) -> every condition of every item read as one sentence,
its regions as the parts (joined as Brain-Score joins parts: empty regions dropped, one space, none
before punctuation) -> each region's surprisal in bits = the sum of its tokens' surprisals given
everything before it (brainalign.surprisal; NaN, i.e. nothing to predict from, counts as 0, as in
Brain-Score) -> every prediction formula evaluated per item (brainalign/metrics/syntaxgym.py) ->
suite accuracy = fraction of items whose predictions all hold -> `raw` = mean over suites.
Region surprisals are cached per model, suite and read-out settings.
"""

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.errors import ConfigError
from brainalign.config.schema import AccuracyMetricConfig, SyntaxGymConfig
from brainalign.plumbing.io import atomic_file
from brainalign.registry import BenchmarkSpec, MetricSpec, declare, declare_metric

log = logging.getLogger(__name__)
SUITES, ITEMS_PER_SUITE = 31, 25  # SyntaxGym 2020 (task=plan)
CACHE_VERSION = 1  # bump when region surprisals change for the same model and settings


def surprisal_settings(dataset_cfg, model: ModelProvider) -> dict:
    """Read-out settings that change the numbers: they key the cache and go into the result."""
    s = dataset_cfg.surprisal
    settings = {"mode": str(s.mode), "window": s.window}
    if s.mode == "fast":
        settings["stride"] = int(s.stride)  # batch_size changes only float rounding: not a key
    arch = str(model.cfg.get("arch") or "")
    if arch == "encoder":
        settings["pll"] = str(s.pll)
    elif arch != "causal":  # unknown or seq2seq: the T5 read-out matters
        settings["t5"] = str(s.t5)
    return settings


def _key(fingerprint: str, suite, settings: dict) -> str:
    blob = json.dumps({"model": fingerprint, "suite": suite.sentences, "version": CACHE_VERSION, **settings},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def batched_fast(lm, sentences: list[list[str]], window=None, batch_size: int = 32) -> list:
    """`fast` surprisal (one window per sentence) of many short sentences, several per forward pass.

    Equal to `word_surprisal(lm, regions, mode="fast")` per sentence (up to float rounding) for a
    causal LM whose sentences fit the window; returns None for a sentence that needs the general path.
    """
    import torch

    from brainalign.surprisal.readout import make_scorer
    from brainalign.surprisal.scorer import LN2, surprisal_nats
    from brainalign.surprisal.words import join_words, sum_by_word, token_words

    scorer = make_scorer(lm, window=window)
    prepared = []
    for k, regions in enumerate(sentences):
        text, ends = join_words(regions)
        tokens = scorer.tokens(text)
        if len(tokens.ids) <= scorer.window and tokens.n_suffix == 0 and len(tokens.ids) > 0:
            prepared.append((k, tokens, token_words(tokens.offsets, ends), len(regions)))
    out = [None] * len(sentences)
    prepared.sort(key=lambda p: len(p[1].ids))
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for a in range(0, len(prepared), batch_size):
            batch = prepared[a:a + batch_size]
            width = max(len(t.ids) for _, t, _, _ in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, (_, t, _, _) in enumerate(batch):
                ids[r, :len(t.ids)], mask[r, :len(t.ids)] = torch.tensor(t.ids), 1
            logits = lm.model(input_ids=ids.to(scorer.device), attention_mask=mask.to(scorer.device)).logits
            for r, (k, t, owner, n) in enumerate(batch):
                nats = np.full(len(t.content), np.nan)  # the first token without a BOS: nothing predicts it
                first = 0 if t.n_prefix else 1
                if first < len(t.content):
                    pos = np.arange(first, len(t.content)) + t.n_prefix - 1
                    nats[first:] = surprisal_nats(logits[r, pos[0]:pos[-1] + 1],
                                                  torch.tensor(t.content[first:], dtype=torch.long))
                out[k] = sum_by_word(nats / LN2, owner, n)
    return out


def region_surprisals(lm, suite, settings: dict, progress: bool = False) -> np.ndarray:
    """[items, conditions, regions] surprisal in bits, NaN replaced by 0 (Brain-Score's SyntaxGym)."""
    from tqdm.auto import tqdm

    from brainalign.surprisal import word_surprisal

    conditions = suite.condition_names
    sentences = [suite.sentences[i][c] for i in range(suite.n_items) for c in conditions]
    bits = [None] * len(sentences)
    if settings["mode"] == "fast" and not lm.is_encoder and not lm.is_encoder_decoder:
        bits = batched_fast(lm, sentences, settings.get("window"), int(settings.get("batch_size", 32)))
    for k in tqdm(range(len(sentences)), desc=f"syntaxgym {suite.name}", disable=not progress, mininterval=5):
        if bits[k] is None:
            bits[k] = word_surprisal(lm, sentences[k], mode=settings["mode"], stride=settings.get("stride", 64),
                                     t5=settings.get("t5", "study"), pll=settings.get("pll", "original"),
                                     window=settings.get("window")).bits
    out = np.nan_to_num(np.array(bits, dtype=float), nan=0.0)
    return out.reshape(suite.n_items, len(conditions), len(suite.region_names))


def cached_region_surprisals(model: ModelProvider, suite, settings: dict, cache_dir, progress=True, batch_size=32):
    """(bits [items, conditions, regions], cached?) from `<cache>/syntaxgym/<model>-<suite>-<key>.npz`."""
    path = Path(cache_dir) / "syntaxgym" / f"{model.name.replace('/', '_')}-{suite.name}-{_key(model.fingerprint(), suite, settings)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return f["bits"], True
        except Exception as e:  # unreadable: recompute
            log.warning("cache file %s unreadable (%s); recomputing", path, e)
    bits = region_surprisals(model.get(), suite, dict(settings, batch_size=batch_size), progress)
    with atomic_file(path) as f:
        np.savez(f, bits=bits)
    return bits, False


def item_dicts(suite, bits: np.ndarray) -> list[dict]:
    """Per item {(condition, region number): bits}, regions numbered 1.. by position (as Brain-Score)."""
    return [{(c, r + 1): float(bits[i, j, r]) for j, c in enumerate(suite.condition_names)
             for r in range(len(suite.region_names))} for i in range(suite.n_items)]


class SyntaxGymBenchmark:
    def __init__(self, dataset_cfg, metric_cfg=None):
        self.cfg = dataset_cfg
        if str(dataset_cfg.surprisal.mode) not in ("exact", "fast"):
            raise ConfigError(f"dataset.surprisal.mode={dataset_cfg.surprisal.mode!r}; choose exact or fast")

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.syntaxgym import load_suites
        from brainalign.metrics.syntaxgym import item_results, parse_formula

        suites = load_suites(self.cfg.path, list(self.cfg.suites) if self.cfg.suites is not None else None,
                             max_items=self.cfg.max_items)
        parsed = {s.name: [parse_formula(f) for f in s.predictions] for s in suites}  # bad formulas fail first
        settings = surprisal_settings(self.cfg, model)
        per_suite, details, hits, t0 = {}, {}, [], time.perf_counter()
        for suite in suites:
            bits, hit = cached_region_surprisals(model, suite, settings, ctx.cache_dir, ctx.progress,
                                                 batch_size=int(self.cfg.surprisal.batch_size))
            hits.append(hit)
            results = item_results(parsed[suite.name], item_dicts(suite, bits))
            per_suite[suite.name] = float(results.all(axis=1).mean())
            details[suite.name] = {"accuracy": per_suite[suite.name], "n_items": suite.n_items,
                                   "n_predictions": len(suite.predictions),
                                   "prediction_accuracy": [float(x) for x in results.mean(axis=0)],
                                   "predictions": suite.predictions, "sha1": suite.sha1}
        raw = float(np.mean(list(per_suite.values())))
        return {
            "raw": raw, "ceiled": raw, "ceiling": 1.0, "best_layer": None, "best_layer_index": None,
            "raw_cv": None, "n_layers": 0, "synthetic": False, "per_layer": [], "metric": "accuracy",
            "accuracy": raw, "per_suite": per_suite, "suites": details, "n_suites": len(suites),
            "n_items": int(sum(s.n_items for s in suites)),
            "item_weighted_accuracy": float(sum(per_suite[s.name] * s.n_items for s in suites)
                                            / sum(s.n_items for s in suites)),
            "surprisal_settings": settings, "surprisal_cached": all(hits),
            "data_source": str(Path(suites[0].file).parent),
            "timings": {"surprisal_and_metric_s": round(time.perf_counter() - t0, 3)},
        }


def build(dataset_cfg, metric_cfg=None) -> SyntaxGymBenchmark:
    return SyntaxGymBenchmark(dataset_cfg, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Every condition of every item read once as a sentence (~31 suites x ~25 items x ~3 conditions x 12 words)."""
    items = int(d.get("max_items") or ITEMS_PER_SUITE)
    suites = len(d.get("suites") or ()) or SUITES
    return int(suites * items * 3 * 12 * tokens_per_word), 0, "documented sizes"


ACCURACY = declare_metric(MetricSpec("accuracy", AccuracyMetricConfig, kinds=()))
SPEC = declare(BenchmarkSpec(
    name="syntaxgym", kind="behaviour", schema=SyntaxGymConfig, build=build,
    default_metric="accuracy", metrics=("accuracy",),
    subset_keys={"suites": None, "max_items": None}, folder_keys={"surprisal.mode": "exact"},
    ceiling="none", ceiling_missing="accuracy: the ceiling is 1",
    locations=("path",), data_files=("path",), cost=cost))
