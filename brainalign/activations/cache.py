"""On-disk cache of features, keyed by model, stimuli and presentation settings.

A finished extraction is one .npz under <cache>/features/<model>/; while it runs, finished passages are
checkpointed (every 60 s and when interrupted), so a killed run resumes where it stopped.
"""

import logging
from pathlib import Path

import numpy as np

from brainalign.activations.extract import Features, extract
from brainalign.plumbing.cache import Cache, Checkpoint

log = logging.getLogger(__name__)
VERSION = 1  # bump when extraction changes what it returns


def feature_cache(cache_dir, model_name: str) -> Cache:
    return Cache(cache_dir, "features", VERSION, sub=model_name)


def feature_key(fingerprint: str, passages: list[list[str]], layers, one_pass: bool) -> str:
    return feature_cache(".", "-").key(model=fingerprint, passages=passages, layers=list(layers or []),
                                       one_pass=one_pass)


def cached_extract(model, passages: list[list[str]], cache_dir: Path, layers=None, one_pass: bool = True,
                   progress: bool = True, checkpoint_seconds: float = 60.0) -> tuple[Features, bool]:
    """Features from the cache, or computed (loading the model only then) and stored. Returns (features, hit)."""
    layers = layers or model.cfg.layers
    cache = feature_cache(cache_dir, model.name)
    key = feature_key(model.fingerprint(), passages, layers, one_pass)
    with cache.lock(key):  # two jobs asking for one feature file: computed once
        return _extract(model, passages, layers, one_pass, progress, cache, key, checkpoint_seconds)


def _extract(model, passages, layers, one_pass, progress, cache, key, checkpoint_seconds):
    from brainalign.plumbing.interrupt import Interrupted, as_interrupted

    if (hit := cache.read(key)) is not None:
        return Features(values=hit["values"], layers=[str(x) for x in hit["layers"]]), True
    checkpoint = Checkpoint(cache, key, every_s=checkpoint_seconds)
    saved = checkpoint.load() or {}
    done = [saved[f"p{i}"] for i in range(int(saved.get("n", 0)))]

    def save():
        checkpoint.save(n=np.array(len(done)), **{f"p{j}": r for j, r in enumerate(done)})

    def on_passage(i, rows):
        done.append(rows)
        if checkpoint.due():
            save()

    if done:
        log.info("resuming %s from %d/%d passages", model.name, len(done), len(passages))
    try:
        feats = extract(model.get(), passages, layers=layers, one_pass=one_pass, progress=progress,
                        done=list(done), on_passage=on_passage)
    except BaseException as e:
        if not isinstance(e, (KeyboardInterrupt, Interrupted)):
            raise
        save()
        raise as_interrupted(e, len(done), len(passages), "passages") from None
    cache.write(key, values=feats.values, layers=np.array(feats.layers))
    checkpoint.drop()
    return feats, False
