"""`exact`: Brain-Score's reading-time read-out, word by word (HuggingfaceSubject, spec 0.1).

For word i: tokenize the whole context up to and including it, keep the last `window` tokens (left
truncation; special tokens stay), run the model on that from scratch, and score the word's new tokens
(`count_i - count_(i-1)` of them, counted before truncation) from the logits at `[-n_new-1, -1)`.
Edge cases as Brain-Score has them: a single-token context gives NaN; when every token of the
context is new (the first word) the first token is skipped; a word adding no tokens scores 0; the
token count after truncation adds the overflow the tokenizer reports, which for tokenizers with a BOS
or EOS includes one special token per overflow chunk (`Tokens.reported_overflow`), so a word where
the chunk count changes gets a wrong token count exactly as in Brain-Score.
One forward pass per word: slow, but it reproduces Brain-Score's numbers.
"""

import numpy as np
from tqdm import tqdm

from brainalign.surprisal.scorer import LN2, surprisal_nats
from brainalign.surprisal.words import join_words


def exact_surprisal(scorer, words, progress: bool = False, checkpoint=None, start: int = 0,
                    stop: int | None = None) -> np.ndarray:
    """Per-word surprisal in bits, one forward pass per word over its left-truncated context.

    checkpoint (brainalign.plumbing.cache.Checkpoint): resume from its last save, save every so often and when
    interrupted (then Interrupted says how far it got). start, stop: score only words[start:stop] (each
    still read with all the words before it), e.g. to measure one full-window pass far into a text;
    returns those words' values only."""
    import torch

    from brainalign.plumbing.interrupt import Interrupted, as_interrupted

    text, ends = join_words(words)
    first = start   # what the caller asked for; a checkpoint may move `start` on
    stop = len(words) if stop is None else min(stop, len(words))
    out = np.full(len(words), np.nan)
    total_before = 0
    if start > 0:  # the token count Brain-Score carries over from the word before `start`
        before = scorer.tokens(text[:ends[start - 1]])
        total_before = len(before.truncated(scorer.window)) + before.reported_overflow(scorer.window)
    saved = checkpoint.load() if checkpoint else None
    if saved is not None and len(saved["bits"]) == len(words) and start == 0:
        out, start, total_before = saved["bits"], int(saved["next"]), int(saved["total_before"])

    def save(i):
        if checkpoint:
            checkpoint.save(bits=out, next=np.array(i), total_before=np.array(total_before))

    i = start
    try:
        with torch.inference_mode():
            for i in tqdm(range(start, stop), desc="surprisal (exact)", disable=not progress, mininterval=10,
                          initial=start, total=stop):
                total_before = _one_word(scorer, text, ends, i, out, total_before)
                if checkpoint and checkpoint.due():
                    save(i + 1)
    except BaseException as e:
        if not isinstance(e, (KeyboardInterrupt, Interrupted)):
            raise
        save(i)
        raise as_interrupted(e, i, len(words), "words") from None
    return out if first == 0 and stop == len(words) else out[first:stop]


def _one_word(scorer, text, ends, i, out, total_before) -> int:
    """Word i's surprisal into out[i]; returns the running token count after it."""
    import torch

    tokens = scorer.tokens(text[:ends[i]])  # == prepare_context(words[:i + 1])
    ids = tokens.truncated(scorer.window)
    overflow = tokens.reported_overflow(scorer.window)
    current = ids[total_before - overflow:]  # Python slicing, as Brain-Score slices
    if len(ids) <= 1:
        return len(ids) + overflow  # nothing to predict from: NaN
    keep = min(len(current) + 1, len(ids))
    logits = scorer.logits(torch.tensor([ids], device=scorer.device), keep)[0]
    predicted = logits[-len(current) - 1:-1] if current else logits[:0]
    actual = current[1:] if len(current) == len(predicted) + 1 else current
    nats = surprisal_nats(predicted, torch.tensor(actual, dtype=torch.long))
    out[i] = nats.sum() / LN2
    return len(ids) + overflow
