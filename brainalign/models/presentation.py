"""How stimuli are fed to a model: each part with the preceding parts of its passage as context."""

import re

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")


def drop_space_before_punctuation(text: str) -> str:
    """Whitespace before .,!?;: removed ("a , b ." -> "a, b."; Brain-Score's English-specific clean-up)."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def prepare_context(parts: list[str]) -> str:
    """Brain-Score's context string (model_helpers/preprocessing.py): drop empty parts, join with one
    space, no space before punctuation. The one rule for features, surprisals and baselines."""
    return drop_space_before_punctuation(" ".join(p for p in parts if p.strip() != ""))


def contexts(parts: list[str], head: str = "") -> list[str]:
    """The context string of every part of one passage: parts[0..i] for each i, after `head`."""
    return [head + prepare_context(parts[: i + 1]) for i in range(len(parts))]


CHAT_TEMPLATES = ("none", "user")
_SENTINEL = "\x00brainalign-user-text\x00"


def chat_head(lm) -> str:
    """What comes before the user's text when a context is a user turn of the model's chat template.

    model.chat_template=none (default): nothing, the raw text (Brain-Score). user: the rendered
    template up to the user's text (system prompt the template adds by default, user header). The
    features are read at the last token of the user's text; in a causal model the template's trailer
    (end of turn, assistant header) comes after that token and cannot change it, so it is not fed."""
    from brainalign.errors import ConfigError

    mode = str(lm.cfg.get("chat_template") or "none")
    if mode not in CHAT_TEMPLATES:
        raise ConfigError(f"model.chat_template={mode!r}; choose one of {CHAT_TEMPLATES}")
    if mode == "none":
        return ""
    if lm.is_encoder_decoder or not getattr(lm.tokenizer, "chat_template", None):
        raise ConfigError(f"model.chat_template=user: {lm.name} has no chat template (or is an encoder-decoder)")
    rendered = lm.tokenizer.apply_chat_template([{"role": "user", "content": _SENTINEL}], tokenize=False,
                                                add_generation_prompt=False)
    return rendered[:rendered.index(_SENTINEL)]
