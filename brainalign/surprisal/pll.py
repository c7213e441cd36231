"""Surprisal from a masked LM by pseudo-log-likelihood (PLL).

A masked LM has no left-to-right probability; PLL scores a token by masking it and reading the
model's probability of it from the other tokens (Salazar et al. 2020, "Masked Language Model
Scoring"). For reading-time surprisal we keep Brain-Score's incremental protocol: word i is scored
in the context the reader has seen, the words 0..i joined (left-truncated to the window, `[CLS]`
and `[SEP]` kept), so no later word is ever visible. Word i's surprisal in bits is the sum over its
tokens t of -log2 p(t | context with t masked). Two variants (`pll`):

- `original`: only t is masked; the word's other tokens stay visible (Salazar et al.). A word split
  into several tokens then scores too low, because each piece is easy to guess from the others.
- `word_l2r`: t and the tokens to its right within the same word are masked (Kauf & Ivanova 2023,
  "A Better Way to Do Masked Language Model Scoring", PLL-word-l2r); "word" is the tokenizer's own
  word (`word_ids()`, as their implementation), so punctuation is a word of its own.

One batched forward pass per word (one row per token of the word). A checkpoint without a masked-LM
head (a sentence-transformer) has no PLL: ConfigError.
"""

import numpy as np

from brainalign.errors import ConfigError
from brainalign.surprisal.scorer import LN2
from brainalign.surprisal.words import join_words, token_words

VARIANTS = ("original", "word_l2r")


def _context(tokenizer, text: str, window: int):
    """ids, word ids, owner-ready offsets of the content tokens, and the number of prefix specials."""
    enc = tokenizer(text, return_offsets_mapping=True, verbose=False)
    ids, words, offsets = list(enc["input_ids"]), enc.word_ids(), list(enc["offset_mapping"])
    n_prefix = next((j for j, w in enumerate(words) if w is not None), len(ids))
    n_suffix = next((j for j, w in enumerate(reversed(words)) if w is not None), 0)
    if len(ids) > window:  # left truncation, specials kept
        keep = window - n_prefix - n_suffix
        if keep < 1:
            raise ConfigError(f"a window of {window} tokens cannot hold any text")
        cut = len(ids) - n_suffix - keep
        ids = ids[:n_prefix] + ids[cut:]
        words = words[:n_prefix] + words[cut:]
        offsets = offsets[:n_prefix] + offsets[cut:]
    content = slice(n_prefix, len(ids) - n_suffix)
    return ids, words, offsets[content], n_prefix


def pll_surprisal(lm, words, variant: str = "original", window: int | None = None, progress: bool = False):
    """Per-word PLL surprisal in bits (0 for a word with no tokens); also the number of forward passes."""
    import torch
    from tqdm import tqdm

    if variant not in VARIANTS:
        raise ConfigError(f"surprisal pll={variant!r}; choose one of {', '.join(VARIANTS)}")
    if not lm.mlm_head:
        raise ConfigError(f"model {lm.name!r} has no masked-LM head (a bare encoder, e.g. a sentence-transformer), "
                          "so it has no pseudo-log-likelihood surprisal; use it on brain benchmarks, or use a "
                          "checkpoint with its MLM head (BertForMaskedLM) for reading times and SyntaxGym")
    window = int(window or lm.max_length)
    mask_id = lm.tokenizer.mask_token_id
    text, ends = join_words([str(w) for w in words])
    out = np.zeros(len(words))
    passes = 0
    device = next(lm.model.parameters()).device
    with torch.inference_mode():
        for i in tqdm(range(len(words)), desc=f"surprisal (pll-{variant})", disable=not progress, mininterval=10):
            if i and ends[i] == ends[i - 1] or ends[i] == 0:
                continue  # an empty word adds no tokens
            ids, word_ids, offsets, n_prefix = _context(lm.tokenizer, text[:ends[i]], window)
            owner = token_words(offsets, ends)
            targets = [n_prefix + j for j in range(len(offsets)) if owner[j] == i]
            if not targets:
                continue
            batch = torch.tensor([ids] * len(targets), device=device)
            for row, t in enumerate(targets):
                masked = [t] + ([q for q in targets if q > t and word_ids[q] == word_ids[t]]
                                if variant == "word_l2r" else [])
                batch[row, masked] = mask_id
            logits = lm.model(input_ids=batch).logits
            rows = torch.arange(len(targets), device=device)
            pos = torch.tensor(targets, device=device)
            picked = logits[rows, pos].float()
            gold = torch.tensor([ids[t] for t in targets], device=device)
            nats = torch.logsumexp(picked, -1) - picked.gather(-1, gold[:, None])[:, 0]
            out[i] = float(nats.sum()) / LN2
            passes += 1
    return out, passes
