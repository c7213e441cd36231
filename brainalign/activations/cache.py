"""On-disk cache of features, keyed by model, stimuli and presentation settings.

A finished extraction is one .npz; while it runs, finished passages are checkpointed so a killed
run resumes where it stopped. Writes are atomic (tmp file + rename); an unreadable file is
recomputed.
"""

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from brainalign.activations.extract import Features, extract
from brainalign.io import atomic_file
from brainalign.locks import entry_lock

log = logging.getLogger(__name__)
VERSION = 1  # bump when extraction changes what it returns


def default_cache_dir() -> Path:
    return Path(os.path.expanduser(os.environ.get("BRAINALIGN_CACHE", "~/.cache/brainalign")))


def feature_key(fingerprint: str, passages: list[list[str]], layers, one_pass: bool) -> str:
    blob = json.dumps({"model": fingerprint, "passages": passages, "layers": list(layers or []),
                       "one_pass": one_pass, "version": VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def atomic_save_npz(path: Path, **arrays) -> None:
    with atomic_file(path) as f:
        np.savez(f, **arrays)


def _load(path: Path) -> Features | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return Features(values=z["values"], layers=[str(x) for x in z["layers"]])
    except Exception as e:  # truncated or corrupted: recompute
        log.warning("cache file %s unreadable (%s); recomputing", path, e)
        path.unlink(missing_ok=True)
        return None


def _load_partial(path: Path) -> list[np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return [z[f"p{i}"] for i in range(int(z["n"]))]
    except Exception:
        return []


def cached_extract(model, passages: list[list[str]], cache_dir: Path, layers=None, one_pass: bool = True,
                   progress: bool = True, checkpoint_seconds: float = 60.0) -> tuple[Features, bool]:
    """Features from the cache, or computed (loading the model only then) and stored. Returns (features, hit)."""
    layers = layers or model.cfg.get("layers") or ["embedding", "blocks"]
    key = feature_key(model.fingerprint(), passages, layers, one_pass)
    folder = Path(cache_dir) / "features" / model.name
    final, partial = folder / f"{key}.npz", folder / f"{key}.partial.npz"
    with entry_lock(final):  # two jobs asking for one feature file: computed once
        if final.exists() and (hit := _load(final)) is not None:
            return hit, True
        done = _load_partial(partial) if partial.exists() else []
        last = [time.monotonic()]

        def checkpoint(i, rows):
            done.append(rows)
            if time.monotonic() - last[0] > checkpoint_seconds:
                atomic_save_npz(partial, n=np.array(len(done)), **{f"p{j}": r for j, r in enumerate(done)})
                last[0] = time.monotonic()

        if done:
            log.info("resuming %s from %d/%d passages", model.name, len(done), len(passages))
        feats = extract(model.get(), passages, layers=layers, one_pass=one_pass, progress=progress,
                        done=list(done), on_passage=checkpoint)
        atomic_save_npz(final, values=feats.values, layers=np.array(feats.layers))
        partial.unlink(missing_ok=True)
        return feats, False
