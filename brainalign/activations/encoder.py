"""Every layer's features of each stimulus for an encoder-only (BERT-style) model.

As for the causal models (Brain-Score's protocol), stimulus i of a passage is presented with its
context: the parts 0..i joined into one string. An encoder reads that context bidirectionally:
every token attends to every other token of the context, so a word's state depends on the words
after it *within the context*. Parts after i are never part of the context, so a stimulus's
features do not depend on later stimuli (no look-ahead beyond what the reader has seen).

The stimulus is represented (`model.pooling`) by
- `last` (default): the state of its last text token (the last token before `[SEP]`; Brain-Score's
  last-token read-out, with the special end token skipped because it is the same for every text);
- `mean`: the mean state over the stimulus's own tokens (those of part i, not of the earlier
  context); a part with no tokens (empty) falls back to `last`.

The contexts of one passage go through the model in one padded batch (right padding and an
attention mask, so padding changes nothing but float rounding).
"""

import numpy as np
import torch
from tqdm.auto import tqdm

from brainalign.errors import ConfigError
from brainalign.models.layers import LayerRecorder, resolve_layers
from brainalign.surprisal.words import join_words, token_words, tokenize

POOLINGS = ("last", "mean")


def _context_tokens(lm, text: str, ends, k: int):
    """Left-truncated token ids of `text` and the positions of part k's tokens and of the last text token."""
    tokens = tokenize(lm.tokenizer, text)
    ids = tokens.truncated(lm.max_length)
    dropped = len(tokens.ids) - len(ids)
    owner = token_words(tokens.offsets, ends)[dropped:]  # owners of the content tokens kept
    n_content = len(ids) - tokens.n_prefix - tokens.n_suffix
    mine = [tokens.n_prefix + j for j in range(n_content) if owner[j] == k]
    last = tokens.n_prefix + n_content - 1 if n_content else 0
    return ids, mine, last


def passage_features(lm, parts: list[str], recorder: LayerRecorder, names: list[str], pooling: str) -> np.ndarray:
    """[layers, len(parts), d] for one passage."""
    text, ends = join_words([str(p) for p in parts])
    rows = [_context_tokens(lm, text[:ends[k]], ends, k) for k in range(len(parts))]
    width = max(len(ids) for ids, _, _ in rows)
    pad = lm.tokenizer.pad_token_id or 0
    batch = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (ids, _, _) in enumerate(rows):
        batch[r, :len(ids)] = torch.tensor(ids)
        mask[r, :len(ids)] = 1
    base = lm.model.base_model
    device = next(base.parameters()).device
    with torch.no_grad():
        base(input_ids=batch.to(device), attention_mask=mask.to(device))
    per_layer = []
    for name in names:
        states = recorder.outputs[name].float().cpu()
        pooled = [states[r, mine].mean(0) if pooling == "mean" and mine else states[r, last]
                  for r, (_, mine, last) in enumerate(rows)]
        per_layer.append(torch.stack(pooled).numpy())
    return np.stack(per_layer)


def extract_encoder(lm, passages: list[list[str]], layers=None, progress: bool = True, done=None, on_passage=None):
    """The encoder counterpart of `brainalign.activations.extract.extract` (same arguments and result)."""
    from brainalign.activations.features import Features

    pooling = str(lm.cfg.pooling)
    if pooling not in POOLINGS:
        raise ConfigError(f"model.pooling={pooling!r}; choose one of {', '.join(POOLINGS)}")
    base = lm.model.base_model
    names = resolve_layers(base, layers or lm.cfg.layers)
    out = list(done or [])
    with LayerRecorder(base, names) as rec:
        for i in tqdm(range(len(out), len(passages)), desc=f"activations {lm.name}", unit="passage",
                      disable=not progress, initial=len(out), total=len(passages)):
            rows = passage_features(lm, passages[i], rec, names, pooling)
            out.append(rows)
            if on_passage:
                on_passage(i, rows)
    return Features(values=np.concatenate(out, axis=1).astype(np.float32), layers=names)


def token_states(lm, text: str, layers=None) -> tuple[np.ndarray, list[str]]:
    """[layers, tokens, d] states of every token of `text` (specials included) and the layer names."""
    base = lm.model.base_model
    names = resolve_layers(base, layers or lm.cfg.get("layers") or ["embedding", "blocks"])
    ids = tokenize(lm.tokenizer, text).truncated(lm.max_length)
    with LayerRecorder(base, names) as rec, torch.no_grad():
        base(input_ids=torch.tensor([ids], device=next(base.parameters()).device))
        return np.stack([rec.outputs[n][0].float().cpu().numpy() for n in names]), names
