"""Per-word surprisal (bits) of a word sequence read as one running text, as Brain-Score computes it.

    from brainalign.surprisal import word_surprisal
    s = word_surprisal(lm, ["The", "cat", "sat."], mode="fast")   # lm = brainalign.models.load_model(cfg)
    s.bits            # [n_words], NaN for a first word nothing predicts

Modes: `exact` (Brain-Score's per-word re-run of the left-truncated context; reproduces its numbers)
and `fast` (the text tokenized once and scored in strided windows). Encoder-decoders are scored the
`t5` way: `study` (as Aw et al., leaks the word) or `shifted` (no leak); see seq2seq.py. Encoders
(BERT-style) are scored by pseudo-log-likelihood, `pll` = `original` | `word_l2r`; see pll.py.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from brainalign.errors import ConfigError
from brainalign.surprisal.exact import exact_surprisal
from brainalign.surprisal.fast import fast_surprisal
from brainalign.surprisal.readout import make_scorer
from brainalign.surprisal.words import join_words, prepare_context

MODES = ("exact", "fast")


@dataclass
class WordSurprisal:
    bits: np.ndarray
    mode: str
    readout: str  # causal | t5-study | t5-shifted
    window: int
    settings: dict = field(default_factory=dict)  # stride, passes, seconds, description


def word_surprisal(lm, words, mode: str = "exact", stride: int = 64, batch_size: int = 1, t5: str = "study",
                   window: int | None = None, progress: bool = False, checkpoint=None,
                   pll: str = "original") -> WordSurprisal:
    """Surprisal in bits of each word given all words before it (left-truncated to the model's window).

    lm: a `LoadedModel`. window: tokens of context (default `lm.max_length`). stride, batch_size:
    `fast` only. t5: `study` | `shifted`, for encoder-decoders only. pll: for encoders only. checkpoint: a
    `brainalign.plumbing.cache.Checkpoint` that a killed or interrupted computation resumes from.
    """
    if mode not in MODES:
        raise ConfigError(f"surprisal mode={mode!r}; choose one of {', '.join(MODES)}")
    words = [str(w) for w in words]
    if getattr(lm, "is_encoder", False):
        return _encoder_surprisal(lm, words, mode, pll, window, progress)
    scorer = make_scorer(lm, t5=t5, window=window)
    if mode == "fast" and not scorer.supports_fast:
        raise ConfigError(f"surprisal mode=fast is not available for {scorer.name}: {scorer.describe()}. "
                          "Use mode=exact (the study's way needs a re-run per word), or t5=shifted.")
    started = time.perf_counter()
    settings = {"description": scorer.describe()}
    if mode == "exact":
        bits = exact_surprisal(scorer, words, progress, checkpoint)
        settings["passes"] = len(words)
    else:
        bits, passes = fast_surprisal(scorer, words, stride=stride, batch_size=batch_size, progress=progress,
                                      checkpoint=checkpoint)
        settings.update(stride=int(stride), batch_size=int(batch_size), passes=int(passes))
    settings["seconds"] = round(time.perf_counter() - started, 3)
    return WordSurprisal(bits=bits, mode=mode, readout=scorer.name, window=scorer.window, settings=settings)


def _encoder_surprisal(lm, words, mode, pll, window, progress) -> WordSurprisal:
    from brainalign.surprisal.pll import pll_surprisal

    if mode != "exact":
        raise ConfigError(f"surprisal mode={mode!r} is not available for encoders: pseudo-log-likelihood "
                          "needs one pass per word; use mode=exact")
    started = time.perf_counter()
    bits, passes = pll_surprisal(lm, words, variant=pll, window=window, progress=progress)
    settings = {"description": f"masked LM, pseudo-log-likelihood ({pll}), left context only",
                "passes": passes, "seconds": round(time.perf_counter() - started, 3)}
    return WordSurprisal(bits=bits, mode=mode, readout=f"pll-{pll}", window=int(window or lm.max_length),
                         settings=settings)


__all__ = ["MODES", "WordSurprisal", "join_words", "prepare_context", "word_surprisal"]
