"""Cost helpers the benchmark declarations share (task=plan): tokens through the model per presentation."""

import itertools


def presentation_tokens(groups, causal: bool, window: int) -> int:
    """Tokens through the model when each part is read with the parts before it in its group.

    Causal: one pass per group over the parts whose context fits the window, and a window-long pass
    for each part beyond it. Encoder-decoder: one pass per part over its (truncated) context."""
    total = 0.0
    for parts in groups:
        ctx = list(itertools.accumulate(parts))
        if causal:
            fit = [c for c in ctx if c <= window]
            total += (max(fit) if fit else 0) + window * (len(ctx) - len(fit))
        else:
            total += sum(min(c, window) for c in ctx)
    return int(total)


def documented_groups(groups: int, parts: int, words: float, tokens_per_word: float) -> list:
    """Equal groups of equal parts from a data set's documented sizes (when its stimuli are not on disk)."""
    per = parts // groups
    return [[words / parts * tokens_per_word] * per for _ in range(groups)]


def passage_cost(groups, causal: bool, window: int, note: str) -> tuple:
    """(forward tokens, stimuli with features, note) of a passage-paradigm data set."""
    return presentation_tokens(groups, causal, window), sum(map(len, groups)), note
