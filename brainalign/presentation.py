"""How stimuli are fed to a model: each part with the preceding parts of its passage as context."""

import re

_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[.,!?;:])")


def prepare_context(parts: list[str]) -> str:
    """Brain-Score's context string: drop empty parts, join with one space, no space before punctuation."""
    kept = [p for p in parts if p and p.strip()]
    return _SPACE_BEFORE_PUNCT.sub("", " ".join(kept))


def contexts(parts: list[str]) -> list[str]:
    """The context string of every part of one passage: parts[0..i] for each i."""
    return [prepare_context(parts[: i + 1]) for i in range(len(parts))]
