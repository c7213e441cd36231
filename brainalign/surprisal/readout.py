"""Which scorer reads a model's surprisal: causal for decoder-only models, a T5 read-out otherwise."""

from brainalign.errors import ConfigError
from brainalign.surprisal.scorer import Scorer
from brainalign.surprisal.seq2seq import T5_MODES


def make_scorer(lm, t5: str = "study", window: int | None = None) -> Scorer:
    """The scorer for `lm`: causal for decoder-only models, the `t5` way for encoder-decoders."""
    if not lm.is_encoder_decoder:
        return Scorer(lm, window)
    if t5 not in T5_MODES:
        raise ConfigError(f"surprisal t5={t5!r}; choose one of {', '.join(T5_MODES)}")
    return T5_MODES[t5](lm, window)
