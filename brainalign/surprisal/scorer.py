"""A model seen as "token ids in, next-token logits out", with the text -> ids policy that goes with it.

Three scorers:
- `causal`: a decoder-only LM; the BOS policy is the model config's `add_bos` (as `LoadedModel.encode`).
- `t5-study` and `t5-shifted`: an encoder-decoder, in the two ways brainalign.surprisal.seq2seq describes.
"""

import math

import numpy as np

from brainalign.errors import ConfigError
from brainalign.surprisal.words import Tokens, tokenize

LN2 = math.log(2.0)


class Scorer:
    """Base: `tokens(text)` and `logits(batch [B, L], keep) -> [B, keep, V]` (the last `keep` positions)."""

    name = "causal"
    supports_fast = True

    def __init__(self, lm, window: int | None = None):
        import inspect

        self.lm = lm
        self.window = int(window or lm.max_length)
        self._trims_logits = "logits_to_keep" in inspect.signature(lm.model.forward).parameters
        if self.window < 2:
            raise ConfigError(f"a context window of {self.window} tokens cannot score anything")

    @property
    def device(self):
        return self.lm.model.device

    def tokens(self, text: str) -> Tokens:
        return tokenize(self.lm.tokenizer, text, add_bos=self.lm.cfg.add_bos)

    def logits(self, batch, keep: int):
        if self._trims_logits:  # only the last `keep` positions go through the LM head
            return self.lm.model(input_ids=batch, logits_to_keep=keep).logits[:, -keep:]
        return self.lm.model(input_ids=batch).logits[:, -keep:]

    def describe(self) -> str:
        return "causal LM: each token scored from the logits at the position before it"


def surprisal_nats(logits, targets):
    """-log p(target) per position, in nats, computed in float32 in chunks (logits [n, V], targets [n])."""
    import torch

    out = []
    for a in range(0, logits.shape[0], 512):
        chunk = logits[a:a + 512].float()
        tgt = targets[a:a + 512].to(chunk.device)
        out.append(torch.logsumexp(chunk, -1) - chunk.gather(-1, tgt[:, None])[:, 0])
    return torch.cat(out).cpu().double().numpy() if out else np.zeros(0)
