"""Word-level features: every word read together with the words before it (Wehbe2014 pipeline).

Word i is fed as the text of words i-c .. i joined by spaces (c = `context_words`, fewer at the
start), and its vector at each layer is the mean of the hidden states of word i's own tokens
(the study's `word_ind_to_extract=-1`; its `seq_len` is c + 1). Tokenisation follows the model's
policy (`LoadedModel`: default special tokens, `add_bos`, left truncation to `max_length`); special
tokens are never part of a word. Seq2seq models get `decoder_input_ids = input_ids` (Brain-Score's
T5 handling), so encoder and decoder layers are both word-aligned.

`cached_word_features` keeps the result under `<cache_dir>/words/<key>/`, keyed by the model's
fingerprint, the settings and a hash of the text; chunks are written atomically as they finish, so
an interrupted run resumes where it stopped, and a complete cache never loads the model.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainalign.plumbing.cache import make_key, text_hash, write_json
from brainalign.plumbing.io import atomic_file, atomic_path
from brainalign.plumbing.locks import entry_lock

log = logging.getLogger(__name__)

VERSION = 1  # bump when the extraction changes its numbers


@dataclass
class WordFeatures:
    values: np.ndarray  # float32 [n_layers, n_words, d] (a read-only memmap when cached)
    layers: list[str]


def windows(words, context_words: int) -> list[tuple[str, int]]:
    """(text, index of the first character of the last word) for each word with its context."""
    out = []
    for i in range(len(words)):
        ctx = " ".join(words[max(0, i - context_words):i])
        text = f"{ctx} {words[i]}" if ctx else str(words[i])
        out.append((text, len(text) - len(str(words[i]))))
    return out


def _bos_policy(lm, ids: list[int], offsets: list[tuple[int, int]]):
    """Apply LoadedModel.encode's add_bos policy to ids that carry character offsets."""
    tok, add_bos = lm.tokenizer, lm.cfg.add_bos
    bos = tok.bos_token_id
    if add_bos is True and bos is not None and (not ids or ids[0] != bos):
        ids, offsets = [bos] + ids[-(lm.max_length - 1):], [(0, 0)] + offsets[-(lm.max_length - 1):]
    elif add_bos is False and ids and bos is not None and ids[0] == bos:
        ids, offsets = ids[1:], offsets[1:]
    return ids, offsets


def tokenize_window(lm, text: str, word_start: int) -> tuple[list[int], list[int]]:
    """Token ids of `text` and the positions of the tokens of the word that starts at `word_start`."""
    tok = lm.tokenizer
    special = set(tok.all_special_ids)
    if getattr(tok, "is_fast", False):
        enc = tok(text, return_offsets_mapping=True, truncation=True, max_length=lm.max_length)
        ids, offsets = _bos_policy(lm, list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]])
        positions = [j for j, (a, b) in enumerate(offsets) if b > a and b > word_start and ids[j] not in special]
    else:  # no offsets: the last word's tokens are what it adds to the tokens of the text before it
        ids = lm.encode(text)
        n_word = (len(tok(text, add_special_tokens=False)["input_ids"])
                  - len(tok(text[:word_start].rstrip(), add_special_tokens=False)["input_ids"]))
        content = [j for j, i in enumerate(ids) if i not in special]
        positions = content[-max(n_word, 1):]
    if not positions:  # e.g. a word that tokenises to nothing: fall back on the last content token
        positions = [j for j, i in enumerate(ids) if i not in special][-1:] or [len(ids) - 1]
    return ids, positions


def word_features(lm, words, *, context_words: int = 20, layers=None, batch_size: int = 32,
                  progress: bool = False, start: int = 0, stop: int | None = None) -> WordFeatures:
    """Features [n_layers, stop - start, d] of words[start:stop], each read with its context."""
    import torch

    from brainalign.models.layers import LayerRecorder, resolve_layers

    names = resolve_layers(lm.model, list(layers or lm.cfg.layers))
    items = windows(words, context_words)[start:stop]
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    device = next(lm.model.parameters()).device
    out = None
    batches = range(0, len(items), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=f"word features ({lm.name})", unit="batch")
    for b0 in batches:
        encoded = [tokenize_window(lm, text, s) for text, s in items[b0:b0 + batch_size]]
        width = max(len(ids) for ids, _ in encoded)
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        weights = torch.zeros((len(encoded), width))
        for row, (token_ids, positions) in enumerate(encoded):
            ids[row, :len(token_ids)] = torch.tensor(token_ids)
            mask[row, :len(token_ids)] = 1
            weights[row, positions] = 1.0 / len(positions)
        kwargs = dict(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
        if lm.is_encoder_decoder:
            kwargs.update(decoder_input_ids=kwargs["input_ids"], decoder_attention_mask=kwargs["attention_mask"])
        with torch.inference_mode(), LayerRecorder(lm.model, names) as rec:
            lm.model(**kwargs)
            batch = [torch.einsum("bt,btd->bd", weights.to(device), rec.outputs[n].float()).cpu().numpy()
                     for n in names]
        if out is None:
            if len({x.shape[1] for x in batch}) > 1:
                raise ValueError(f"layers {names} differ in width; choose layers of one width")
            out = np.empty((len(names), len(items), batch[0].shape[1]), dtype=np.float32)
        out[:, b0:b0 + len(encoded)] = np.stack(batch)
    return WordFeatures(values=out, layers=names)


def cache_key(fingerprint: str, words, context_words: int, layers) -> str:
    return make_key(VERSION, model=fingerprint, text=text_hash(words), context_words=int(context_words),
                    layers=list(layers) if layers else None)


def _atomic_save(path: Path, array: np.ndarray):
    with atomic_file(path) as f:
        np.save(f, array)


def cached_word_features(model, words, *, context_words: int = 20, layers=None, cache_dir,
                         batch_size: int = 32, chunk: int = 512, progress: bool = False) -> WordFeatures:
    """word_features from/into `<cache_dir>/words/`; `model` is a ModelProvider (loaded on a miss only)
    or a LoadedModel."""
    words = [str(w) for w in words]
    layers = list(layers or model.cfg.layers)
    key = cache_key(model.fingerprint(), words, context_words, layers)
    folder = Path(cache_dir) / "words" / key
    meta_path, final = folder / "meta.json", folder / "features.npy"
    with entry_lock(folder):  # computed once when two jobs ask for it
        if meta_path.exists() and final.exists():
            meta = json.loads(meta_path.read_text())
            return WordFeatures(values=np.load(final, mmap_mode="r"), layers=meta["layers"])
        folder.mkdir(parents=True, exist_ok=True)
        lm = model.get() if hasattr(model, "get") else model
        parts, names = [], None
        for start in range(0, len(words), chunk):
            part = folder / f"part_{start:07d}.npy"
            parts.append(part)
            if part.exists():
                continue
            feats = word_features(lm, words, context_words=context_words, layers=layers, batch_size=batch_size,
                                  progress=progress, start=start, stop=start + chunk)
            names = feats.layers
            _atomic_save(part, feats.values)
        if names is None:  # every chunk was there already
            from brainalign.models.layers import resolve_layers

            names = resolve_layers(lm.model, list(layers or lm.cfg.layers))
        first = np.load(parts[0], mmap_mode="r")
        shape = (first.shape[0], len(words), first.shape[2])
        with atomic_path(final) as tmp:   # written through a memory map, renamed when complete
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            for i, part in enumerate(parts):
                values = np.load(part)
                out[:, i * chunk:i * chunk + values.shape[1]] = values
            out.flush()
            del out
        write_json(meta_path, dict(layers=names, n_words=len(words), context_words=context_words,
                                   model=getattr(model, "name", ""), fingerprint=model.fingerprint(), version=VERSION))
        for part in parts:
            part.unlink(missing_ok=True)
        log.info("word features cached in %s", folder)
        return WordFeatures(values=np.load(final, mmap_mode="r"), layers=names)
