"""Words -> one text -> tokens, and each token back to the word it belongs to (by character offsets).

The text is built as Brain-Score builds its contexts (`prepare_context`, brainalign/models/presentation.py):
empty parts are dropped, the rest joined with one space, and whitespace before `.,!?;:` removed. Every
character of the text belongs to exactly one word: word i owns the span from the end of word i-1 to its
own end, so the space in front of a word is the word's. A token belongs to the word that owns its last
character, which works whether the tokenizer glues the space to the next token (GPT-2 `Ġ`), emits it as
a token of its own (T5 `▁`), or adds special tokens with empty offsets (BOS, EOS).
"""

from dataclasses import dataclass

import numpy as np

from brainalign.errors import DataMismatch
from brainalign.models.presentation import drop_space_before_punctuation, prepare_context


def join_words(words) -> tuple[str, np.ndarray]:
    """The whole text (= `prepare_context(words)`) and, per word, the character offset where it ends.

    Built incrementally, so that `text[:ends[i]] == prepare_context(words[:i + 1])` for every i; a
    word list for which that cannot hold (a word ending in whitespace followed by one starting with
    punctuation) raises DataMismatch naming the word.
    """
    pieces, ends, length = [], np.zeros(len(words), dtype=np.int64), 0
    for i, word in enumerate(words):
        if not isinstance(word, str):
            raise DataMismatch(f"word {i} is {word!r} ({type(word).__name__}), not a string")
        if word.strip() != "":  # an empty word is dropped by prepare_context and owns no characters
            piece = drop_space_before_punctuation(word if not length else " " + word)
            pieces.append(piece)
            length += len(piece)
        ends[i] = length
    text = "".join(pieces)
    if text != prepare_context(words):
        bad = next((i for i in range(1, len(words)) if words[i - 1][-1:].isspace()), 1)
        raise DataMismatch(f"word {bad - 1} ({words[bad - 1]!r}) ends in whitespace and the next one starts "
                           "with punctuation, so their joined context rewrites word "
                           f"{bad - 1}; strip the words first")
    return text, ends


@dataclass
class Tokens:
    """Token ids of a text under one scoring policy.

    `ids` = prefix specials (BOS, T5's decoder start) + content tokens + suffix specials (T5's EOS).
    `offsets` are character offsets into the text for the content tokens only.
    """

    ids: list
    offsets: list
    n_prefix: int
    n_suffix: int
    template_specials: int = 0  # of those specials, how many the tokenizer itself adds to every encoding

    @property
    def content(self) -> list:
        return self.ids[self.n_prefix:len(self.ids) - self.n_suffix]

    def truncated(self, window: int) -> list:
        """Left truncation as HF does it with `truncation_side='left'`: specials kept, oldest content dropped."""
        if len(self.ids) <= window:
            return list(self.ids)
        keep = window - self.n_prefix - self.n_suffix
        if keep < 1:
            raise ValueError(f"a window of {window} tokens cannot hold any text next to "
                             f"{self.n_prefix + self.n_suffix} special tokens")
        content = self.content
        return self.ids[:self.n_prefix] + content[len(content) - keep:] + self.ids[len(self.ids) - self.n_suffix:]

    def reported_overflow(self, window: int) -> int:
        """How many overflowing tokens a HF tokenizer reports when truncating to `window`.

        It splits the dropped content into chunks of `window - specials` tokens and adds its special
        tokens to each chunk, so with a BOS or EOS the count exceeds the tokens actually dropped.
        Brain-Score counts new tokens with this number (reproduced by `exact`).
        """
        dropped = max(0, len(self.ids) - window)
        if not dropped or not self.template_specials:
            return dropped
        chunk = window - self.template_specials
        return dropped + self.template_specials * (-(-dropped // chunk))


def tokenize(tokenizer, text: str, add_bos=None, prefix_ids=(), keep_suffix: bool = True) -> Tokens:
    """Tokenize `text` with offsets, applying the BOS policy of `LoadedModel.encode`.

    add_bos: None keeps the tokenizer's special tokens; True makes sure BOS comes first; False drops
    a leading BOS. `prefix_ids` replaces every leading special with these ids (T5's decoder start).
    `keep_suffix=False` drops trailing specials (T5's EOS) when the text is scored as a sequence.
    """
    enc = tokenizer(text, return_offsets_mapping=True, verbose=False)
    ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])

    def is_special(j):
        return ids[j] in special and offsets[j][1] <= offsets[j][0]

    n_prefix = 0
    while n_prefix < len(ids) and is_special(n_prefix):
        n_prefix += 1
    n_suffix = 0
    while n_suffix < len(ids) - n_prefix and is_special(len(ids) - 1 - n_suffix):
        n_suffix += 1
    prefix, suffix = ids[:n_prefix], ids[len(ids) - n_suffix:]
    content_ids = ids[n_prefix:len(ids) - n_suffix]
    content_offsets = offsets[n_prefix:len(offsets) - n_suffix]
    bos = getattr(tokenizer, "bos_token_id", None)
    own, added = (prefix, suffix), 0
    if prefix_ids:
        prefix = list(prefix_ids)
    elif add_bos is True and bos is not None and (not prefix or prefix[0] != bos):
        prefix, added = [bos] + prefix, 1  # stands in for a tokenizer that adds it (overflow counts it)
    elif add_bos is False and bos is not None and prefix and prefix[0] == bos:
        prefix = prefix[1:]
    if not keep_suffix:
        suffix = []
    template = (len(prefix) if prefix[added:] == own[0] else 0) + (len(suffix) if suffix == own[1] else 0)
    return Tokens(ids=prefix + content_ids + suffix, offsets=content_offsets, n_prefix=len(prefix),
                  n_suffix=len(suffix), template_specials=template)


def token_words(offsets, ends) -> np.ndarray:
    """For each content token, the index of the word owning its last character."""
    if not len(offsets):
        return np.zeros(0, dtype=np.int64)
    offs = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    last = np.where(offs[:, 1] > offs[:, 0], offs[:, 1] - 1, offs[:, 0])
    return np.searchsorted(np.asarray(ends), last, side="right")


def sum_by_word(token_values, owner, n_words: int) -> np.ndarray:
    """Per-word sums of per-token values; NaN where a word's tokens are all NaN, 0 for a word with none.

    NaN marks a token with nothing to predict it from (the first token without BOS), so a word made
    only of it is NaN (Brain-Score's first word) and a longer first word sums the rest.
    """
    values = np.asarray(token_values, dtype=np.float64)
    owner = np.asarray(owner)
    if len(owner) and owner.max() >= n_words:
        raise DataMismatch(f"{int((owner >= n_words).sum())} token(s) lie past the last word")
    finite = ~np.isnan(values)
    total = np.bincount(owner[finite], weights=values[finite], minlength=n_words)
    n_tokens = np.bincount(owner, minlength=n_words)
    n_finite = np.bincount(owner[finite], minlength=n_words)
    total[(n_tokens > 0) & (n_finite == 0)] = np.nan
    return total
