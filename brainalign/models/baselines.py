"""Baseline "models" without weights: features computed from the stimulus structure or the text alone.

A baseline config has `family: baseline` and `baseline: <kind>`; each kind gives one layer
(`baseline_values`, plain arguments; brainalign/activations/model.py makes them a model's features):

* oasm: Orthogonal Autocorrelated Sequences (Hadidi et al. 2025; Brain-Score 2.3's `OASMSubject`).
  Per block of K stimuli (a passage / story, as the benchmark feeds them) a K x K identity smoothed
  with scipy.ndimage.gaussian_filter1d(sigma, axis=1), placed at the block's own offset of a
  `max_features`-wide space (offsets restart with each benchmark part, as Brain-Score's
  start_neural_recording resets them). No linguistic content at all.
* position: the stimulus's 0-based position in its block.
* n_words / n_chars: whitespace-separated words / characters of the stimulus itself.
* random_embedding: Brain-Score's `randomembedding-<dim>`: the mean over the stimulus's words of a
  random vector seeded by each word's SHA-256 (Schrimpf et al. 2021).
"""

import hashlib
import json
import re

import numpy as np

from brainalign.errors import ConfigError

KINDS = ("oasm", "position", "n_words", "n_chars", "random_embedding")
_PUNCT = re.compile(r"[\.\?\!,:]")


def is_baseline(cfg) -> bool:
    return str(cfg.get("family") or "") == "baseline"


def baseline_fingerprint(cfg) -> str:
    """Everything that changes a baseline's features."""
    keys = ("baseline", "sigma", "max_features", "dim")
    blob = json.dumps({k: cfg.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def oasm_features(block_sizes, sigma: float = 1.0, max_features: int = 2000) -> np.ndarray:
    """[sum(block_sizes), max_features]: each block's smoothed identity at its own offset."""
    from scipy.ndimage import gaussian_filter1d

    total = int(sum(block_sizes))
    if total > max_features:
        raise ConfigError(f"OASM: {total} stimuli do not fit in model.max_features={max_features}; raise it")
    if sigma < 0:
        raise ConfigError(f"OASM: model.sigma must be >= 0, got {sigma}")
    out = np.zeros((total, max_features), dtype=np.float64)
    offset = 0
    for k in block_sizes:
        block = np.eye(k, dtype=np.float64)
        if sigma > 0 and k > 1:
            block = gaussian_filter1d(block, sigma=sigma, axis=1)
        out[offset:offset + k, offset:offset + k] = block
        offset += k
    return out


def word_embedding(word: str, dim: int) -> np.ndarray:
    """Brain-Score's WordToEmbedding: RandomState seeded by the word's SHA-256 (as 8 uint32)."""
    seed = np.frombuffer(hashlib.sha256(word.encode("utf-8")).digest(), dtype="uint32")
    return np.random.RandomState(seed).random(dim)


def random_embedding(text: str, dim: int = 100) -> np.ndarray:
    """Mean over words, with Brain-Score's EmbeddingSubject word clean-up (punctuation, trailing 's)."""
    from brainalign.models.presentation import prepare_context

    words = [_PUNCT.sub("", w).rstrip("'s") for w in prepare_context([text]).split()]
    if not words:
        return np.zeros(dim)
    return np.mean([word_embedding(w, dim) for w in words], axis=0)


def baseline_values(kind: str, passages: list[list[str]], sigma: float = 1.0, max_features: int = 2000,
                    dim: int = 100) -> tuple[np.ndarray, str]:
    """[parts, d] values of every part of every passage, in passage order, and the layer's name.
    Defaults as conf/ (brainalign/config/schema.py's ModelConfig)."""
    parts = [text for passage in passages for text in passage]
    if kind == "oasm":
        sigma = float(sigma)
        return oasm_features([len(p) for p in passages], sigma, int(max_features)), f"oasm_sigma{sigma}"
    if kind == "position":
        return np.concatenate([np.arange(len(p), dtype=float) for p in passages])[:, None], "position"
    if kind == "n_words":
        return np.array([[len(t.split())] for t in parts], dtype=float), "n_words"
    if kind == "n_chars":
        return np.array([[len(t)] for t in parts], dtype=float), "n_chars"
    if kind == "random_embedding":
        dim = int(dim)
        return (np.stack([random_embedding(t, dim) for t in parts]) if parts else np.zeros((0, dim))), "projection"
    if kind == "brain_to_brain":   # brainalign/benchmarks/brain_reference.py
        raise ConfigError("model=brain-to-brain has no features of its own: it scores brain data sets with two "
                          "subjects at least (docs/controls.md)")
    raise ConfigError(f"model.baseline={kind!r}; choose one of {KINDS}")
