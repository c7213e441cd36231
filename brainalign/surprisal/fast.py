"""`fast`: tokenize the text once, then score it with a few long windows instead of one pass per word.

A window is `(start, score_from, end)` over the content tokens: the model reads the prefix specials
plus tokens `[start, end)` and the tokens `[score_from, end)` are scored. The first window reads
from the beginning (no truncation, so it equals `exact` up to float rounding); each later one scores
the next `stride` tokens with the `window - n_prefix` tokens before them as context, so every token
keeps at least `window - n_prefix - stride` tokens of context where `exact` keeps up to all of it.

`word_windows` ends every window on a word boundary, so that no word is split across windows; with
a stride of one token each window scores one word from exactly the context `exact` gives it.
`token_windows` is the standard strided evaluation of next-word-prediction loss.
"""

import numpy as np
from tqdm import tqdm

from brainalign.errors import ConfigError
from brainalign.surprisal.scorer import LN2, surprisal_nats
from brainalign.surprisal.words import join_words, sum_by_word, token_words


def token_windows(n_tokens: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """The usual strided perplexity windows: window k reads `[k * stride, k * stride + context)` and
    scores the tokens no earlier window scored."""
    if stride < 1 or stride > context:
        raise ConfigError(f"stride={stride} must be between 1 and the context ({context})")
    windows, scored, begin = [], 0, 0
    while True:
        end = min(begin + context, n_tokens)
        windows.append((begin, scored, end))
        if end >= n_tokens:
            return windows
        scored, begin = end, begin + stride


def word_windows(word_end_tokens, n_tokens: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """Windows that end on word boundaries (`word_end_tokens`: sorted exclusive token ends of words)."""
    if stride < 1 or stride > context:
        raise ConfigError(f"stride={stride} must be between 1 and the context ({context})")
    bounds = np.unique(np.asarray(word_end_tokens, dtype=np.int64))
    bounds = bounds[bounds > 0]
    if not len(bounds) or bounds[-1] != n_tokens:
        bounds = np.append(bounds, n_tokens)
    windows, scored = [], 0
    while scored < n_tokens:
        limit = context if scored == 0 else scored + stride
        end = int(bounds[np.searchsorted(bounds, limit, side="right") - 1])
        if end <= scored:  # a word longer than the stride: take it whole
            end = int(bounds[np.searchsorted(bounds, scored, side="right")])
        start = 0 if scored == 0 and end <= context else max(0, end - context)
        if start > scored:
            raise ConfigError(f"a word of {end - scored} tokens does not fit a context of {context} tokens")
        windows.append((start, scored, end))
        scored = end
    return windows


def token_surprisal(scorer, tokens, windows, batch_size: int = 1, progress: bool = False,
                    checkpoint=None) -> np.ndarray:
    """Surprisal in nats of every content token; NaN for a token nothing predicts (first, no BOS).

    checkpoint (brainalign.plumbing.cache.Checkpoint): resume from its last save, save every so often and when
    interrupted."""
    from brainalign.plumbing.interrupt import Interrupted, as_interrupted

    prefix, content = tokens.ids[:tokens.n_prefix], tokens.content
    out = np.full(len(content), np.nan)
    first_batch = 0
    by_length: dict[int, list] = {}
    for w in windows:
        by_length.setdefault(w[2] - w[0], []).append(w)
    batches = [group[a:a + batch_size] for group in by_length.values() for a in range(0, len(group), batch_size)]
    saved = checkpoint.load() if checkpoint else None
    if saved is not None and len(saved["nats"]) == len(content):
        out, first_batch = saved["nats"], int(saved["next"])
    bar = tqdm(total=len(windows), desc=f"surprisal ({scorer.name}, windows)", disable=not progress,
               initial=sum(len(b) for b in batches[:first_batch]))
    k = first_batch
    try:
        for k in range(first_batch, len(batches)):
            _score_batch(scorer, prefix, content, batches[k], out)
            bar.update(len(batches[k]))
            if checkpoint and checkpoint.due():
                checkpoint.save(nats=out, next=np.array(k + 1))
    except BaseException as e:
        if not isinstance(e, (KeyboardInterrupt, Interrupted)):
            raise
        if checkpoint:
            checkpoint.save(nats=out, next=np.array(k))
        raise as_interrupted(e, sum(len(b) for b in batches[:k]), len(windows), "windows") from None
    finally:
        bar.close()
    return out


def _score_batch(scorer, prefix, content, batch, out) -> None:
    """The surprisal of the new tokens of each window of one batch (windows of one length) into out."""
    import torch

    with torch.inference_mode():
        ids = torch.tensor([prefix + content[s:e] for s, _, e in batch], device=scorer.device)
        length = ids.shape[1]
        keep = min(length, max(e - f for _, f, e in batch) + 1)
        logits = scorer.logits(ids, keep)
        for row, (s, f, e) in enumerate(batch):
            # token t is predicted by the logit at input position len(prefix) + t - s - 1
            first = max(f, s + 1 - len(prefix))
            if first >= e:
                continue
            rel = np.arange(first, e) - s + len(prefix) - 1 - (length - keep)
            predicted = logits[row, rel[0]:rel[-1] + 1]
            targets = torch.tensor(content[first:e], dtype=torch.long)
            out[first:e] = surprisal_nats(predicted, targets)


def fast_surprisal(scorer, words, stride: int = 64, batch_size: int = 1, progress: bool = False,
                   checkpoint=None) -> tuple:
    """Per-word surprisal in bits from word-aligned strided windows; also the number of passes."""
    if not scorer.supports_fast:
        raise ConfigError(f"the {scorer.name} read-out has no fast mode: {scorer.describe()}; use mode=exact")
    text, ends = join_words(words)
    tokens = scorer.tokens(text)
    owner = token_words(tokens.offsets, ends)
    context = scorer.window - tokens.n_prefix - tokens.n_suffix
    word_end_tokens = np.searchsorted(owner, np.arange(len(words)), side="right")
    windows = word_windows(word_end_tokens, len(tokens.content), context, min(stride, context))
    nats = token_surprisal(scorer, tokens, windows, batch_size, progress, checkpoint)
    return sum_by_word(nats / LN2, owner, len(words)), len(windows)
