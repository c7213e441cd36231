"""Next-word-prediction loss: mean next-token cross-entropy (nats per token) with strided windows.

The text is tokenized once; window k reads tokens `[k * stride, k * stride + context)` and scores
only the tokens no earlier window scored, so every token after the first window has at least
`context - stride` tokens of context (the usual perplexity recipe; stride = context gives disjoint
chunks). Special tokens the model starts with (a BOS, T5's decoder start) begin every
window. A loss per *token* depends on the tokenizer, so it compares models of one family only.
"""

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from brainalign.errors import ConfigError, DataMismatch
from brainalign.surprisal.fast import token_surprisal, token_windows
from brainalign.surprisal.readout import make_scorer


@dataclass
class NWPResult:
    loss: float  # nats per scored token
    perplexity: float
    n_tokens: int  # tokens scored
    context: int
    stride: int
    passes: int
    seconds: float
    computed: str  # what exactly this number is


def nwp_loss(lm, text: str, context: int | None = None, stride: int | None = None, batch_size: int = 1,
             max_tokens: int | None = None, t5: str = "shifted", progress: bool = False,
             checkpoint=None) -> NWPResult:
    """Strided next-token loss of `lm` on `text`. context defaults to the model's window, stride to half of it.
    checkpoint: a `brainalign.plumbing.cache.Checkpoint` that an interrupted computation resumes from."""
    if lm.is_encoder_decoder and t5 != "shifted":
        raise ConfigError(f"nwp with t5={t5!r}: only t5=shifted (no leak) gives a next-word-prediction loss; "
                          "the study's read-out lets the encoder see the word being predicted")
    scorer = make_scorer(lm, t5=t5, window=context)
    tokens = scorer.tokens(text)
    if max_tokens:
        tokens = replace(tokens, ids=tokens.ids[:tokens.n_prefix] + tokens.content[:int(max_tokens)], n_suffix=0,
                         offsets=tokens.offsets[:int(max_tokens)])
    if len(tokens.content) < (1 if tokens.n_prefix else 2):   # without a start token the first is never scored
        raise DataMismatch(f"the text has {len(tokens.content)} token(s) for {lm.name}: too short to score a next "
                           "word")
    room = scorer.window - tokens.n_prefix
    stride = int(stride or max(1, room // 2))
    if stride > room:
        raise ConfigError(f"stride={stride} is larger than the context ({room} tokens after special tokens)")
    started = time.perf_counter()
    windows = token_windows(len(tokens.content), room, stride)
    nats = token_surprisal(scorer, tokens, windows, batch_size, progress, checkpoint)
    scored = nats[~np.isnan(nats)]
    if not len(scored):
        raise ConfigError("the text is too short to score a single token")
    loss = float(scored.mean())
    family = "encoder-decoder: " + scorer.describe() if lm.is_encoder_decoder else "causal LM"
    start = "T5's decoder start token" if lm.is_encoder_decoder else "a BOS token" if tokens.n_prefix else "no BOS"
    computed = (f"mean next-token cross-entropy in nats over {len(scored)} tokens of {lm.name}'s own tokenizer "
                f"({family}); windows of {scorer.window} tokens, stride {stride}, {start} at the start of "
                "every window. Per-token losses of different tokenizers or model families (e.g. T5 vs LLaMA) "
                "are not comparable.")
    return NWPResult(loss=loss, perplexity=math.exp(loss), n_tokens=int(len(scored)), context=scorer.window,
                     stride=stride, passes=len(windows), seconds=round(time.perf_counter() - started, 3),
                     computed=computed)
