"""Word-level features: every word read together with the words before it (Wehbe2014 pipeline).

Word i is fed as the text of words i-c .. i joined by spaces (c = `context_words`, fewer at the
start), and its vector at each layer is the mean of the hidden states of word i's own tokens
(the study's `word_ind_to_extract=-1`; its `seq_len` is c + 1), or with `token="last"` the hidden
state of its last token (the story-listening pipelines, benchmarks/voxelwise.py). Tokenisation follows the model's
policy (`LoadedModel`: default special tokens, `add_bos`, left truncation to `max_length`); special
tokens are never part of a word. Seq2seq models get `decoder_input_ids = input_ids` (Brain-Score's
T5 handling), so encoder and decoder layers are both word-aligned.

`cached_word_features` keeps the result in the cache (brainalign/plumbing/cache.py) as `<cache_dir>/words/<key>.npy`
(read through a memory map: a book's words at every layer can be large) and its layers in `<key>.json`,
keyed by the model's fingerprint, the settings and a hash of the text. Chunks of words are written in
place as they finish, so an interrupted run resumes where it stopped; a complete cache never loads the model.
"""

import logging

import numpy as np

from brainalign.activations.features import Features
from brainalign.plumbing.cache import Cache, Checkpoint, text_hash
from brainalign.plumbing.interrupt import Interrupted, as_interrupted

log = logging.getLogger(__name__)

VERSION = 1  # bump when the extraction changes its numbers


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
                  progress: bool = False, start: int = 0, stop: int | None = None, token: str = "mean") -> Features:
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
            positions = positions[-1:] if token == "last" else positions
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
    return Features(values=out, layers=names)


def word_cache(cache_dir) -> Cache:
    return Cache(cache_dir, "words", VERSION)


def cache_key(fingerprint: str, words, context_words: int, layers, token: str = "mean") -> str:
    last = {"token": "last"} if token == "last" else {}   # the mean's keys are those of before the option
    return word_cache(".").key(model=fingerprint, text=text_hash(words), context_words=int(context_words),
                               layers=list(layers) if layers else None, **last)


def cached_word_features(model, words, *, context_words: int = 20, layers=None, cache_dir,
                         batch_size: int = 32, chunk: int = 512, progress: bool = False,
                         token: str = "mean") -> Features:
    """word_features from/into the cache; `model` is a ModelProvider (loaded on a miss only) or a
    LoadedModel. Every `chunk` words are checkpointed: a rerun starts at the first chunk not finished."""
    from brainalign.models.layers import resolve_layers

    words = [str(w) for w in words]
    layers = list(layers or model.cfg.layers)
    cache = word_cache(cache_dir)
    key = cache_key(model.fingerprint(), words, context_words, layers, token)
    with cache.lock(key):  # computed once when two jobs ask for it
        meta, values = cache.read_json(key), cache.read_array(key)
        if meta is not None and values is not None:
            return Features(values=values, layers=meta["layers"])
        lm = model.get() if hasattr(model, "get") else model
        names = resolve_layers(lm.model, layers)
        checkpoint = Checkpoint(cache, key)
        out = cache.read_array(key, partial=True)
        done = int((checkpoint.load() or {}).get("done", 0)) if out is not None else 0
        try:
            for start in range(done, len(words), chunk):
                feats = word_features(lm, words, context_words=context_words, layers=layers, batch_size=batch_size,
                                      progress=progress, start=start, stop=start + chunk, token=token)
                if out is None:
                    out = cache.new_partial_array(key, (len(names), len(words), feats.values.shape[2]))
                out[:, start:start + feats.values.shape[1]] = feats.values
                out.flush()
                done = start + feats.values.shape[1]
                checkpoint.save(done=np.array(done))
        except (KeyboardInterrupt, Interrupted) as e:  # the finished chunks are saved already
            raise as_interrupted(e, done, len(words), "words") from None
        cache.write_json(key, dict(layers=names, n_words=len(words), context_words=context_words,
                                   model=getattr(model, "name", ""), fingerprint=model.fingerprint(), version=VERSION))
        cache.finish_array(key)
        checkpoint.drop()
        log.info("word features cached in %s", cache.path(key, ".npy"))
        return Features(values=cache.read_array(key), layers=names)
