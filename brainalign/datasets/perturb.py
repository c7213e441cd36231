"""Text perturbations of a brain data set's stimuli (Kauf et al. 2024, Neurobiology of Language): the same
stimuli changed before presentation, the responses unchanged (docs/controls.md, "Text perturbations").

A stimulus is split on whitespace into tokens; a token is leading punctuation, a word, and trailing
punctuation. Perturbations move, drop or replace words; punctuation belongs to the token's slot:

- scramble-words: the words of each stimulus in a random order; each slot keeps its punctuation.
- shuffle-sentences: the stimuli of each passage presented in a random order, each response still
  attached to its own stimulus (and read with the shuffled stimuli before it as context).
- content-words / function-words: only the content (or function) words kept, with their punctuation;
  the stimulus keeps its final punctuation; one left without a word is its final punctuation (or ".").
- random-words: each word replaced by a word drawn from the tokens of all the part's stimuli (so the
  part's word frequencies are kept on average); punctuation stays.

Function words are those of function_words.txt (closed classes) and numbers; every other word is a
content word. A benchmark whose stimuli are single words (`unit="word"`, Fedorenko2016) scrambles the
words of each sentence by shuffling its stimuli, and takes no content/function filter.
"""

import copy
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from brainalign.errors import ConfigError
from brainalign.registry import PERTURBATIONS, WORD_PERTURBATIONS

UNITS = ("sentence", "word")
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_NUMBER = re.compile(r"[\d.,]+")


@cache
def function_words() -> frozenset:
    """The shipped closed-class list (lower case)."""
    lines = (Path(__file__).with_name("function_words.txt")).read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def split_token(token: str) -> tuple[str, str, str]:
    """(leading punctuation, word, trailing punctuation); the word is '' for punctuation alone."""
    lead, word, trail = _TOKEN.match(token).groups()
    return lead, word, trail


def is_function_word(word: str) -> bool:
    w = word.lower().replace("\u2019", "'")
    return w in function_words() or bool(_NUMBER.fullmatch(w))


def scramble_words(text: str, rng) -> str:
    tokens = [split_token(t) for t in text.split()]
    slots = [i for i, (_, w, _) in enumerate(tokens) if w]
    words = [tokens[i][1] for i in slots]
    for i, k in zip(slots, rng.permutation(len(words))):
        tokens[i] = (tokens[i][0], words[k], tokens[i][2])
    return " ".join("".join(t) for t in tokens)


def keep_words(text: str, function: bool) -> str:
    """Only the function words (function=True) or the content words, with the text's final punctuation."""
    tokens = [split_token(t) for t in text.split()]
    kept = [t for t in tokens if t[1] and is_function_word(t[1]) == function]
    end = "" if not tokens else tokens[-1][2] if tokens[-1][1] else tokens[-1][0]  # "dog." or "dog ."
    if not kept:
        return end or "."
    kept[-1] = (kept[-1][0], kept[-1][1], end)
    return " ".join("".join(t) for t in kept)


def random_words(text: str, rng, vocabulary: list) -> str:
    tokens = [split_token(t) for t in text.split()]
    return " ".join(lead + (vocabulary[rng.integers(len(vocabulary))] if word else "") + trail
                    for lead, word, trail in tokens)


def perturb_passages(passages: list[list[str]], name: str, seed: int, unit: str = "sentence"):
    """(perturbed passages, orders): passage i is presented as perturbed[i], whose j-th text stands for
    the original part orders[i][j]. Seeded: the same input, name and seed give the same output."""
    if name not in PERTURBATIONS:
        raise ConfigError(f"dataset.perturb={name}: choose one of none, {', '.join(PERTURBATIONS)}")
    if unit not in UNITS or (unit == "word" and name not in WORD_PERTURBATIONS):
        raise ConfigError(f"dataset.perturb={name}: not for stimuli of unit {unit!r}")
    rng = np.random.default_rng(seed)
    reorder = name == "shuffle-sentences" or (unit == "word" and name == "scramble-words")
    vocabulary = [split_token(t)[1] for p in passages for s in p for t in s.split()]
    vocabulary = [w for w in vocabulary if w]
    if name == "random-words" and not vocabulary:
        raise ConfigError("dataset.perturb=random-words: the stimuli have no words to draw from")
    out, orders = [], []
    for parts in passages:
        order = list(rng.permutation(len(parts))) if reorder else list(range(len(parts)))
        texts = [parts[k] for k in order]
        if name == "scramble-words" and unit == "sentence":
            texts = [scramble_words(t, rng) for t in texts]
        elif name in ("content-words", "function-words"):
            texts = [keep_words(t, function=name == "function-words") for t in texts]
        elif name == "random-words":
            texts = [random_words(t, rng, vocabulary) for t in texts]
        out.append(texts)
        orders.append([int(k) for k in order])
    return out, orders


@dataclass(frozen=True)
class Perturbation:
    name: str
    seed: int = 0
    unit: str = "sentence"

    def apply(self, data):
        """A copy of BrainData `data` whose texts (and, shuffled, presentation order) are perturbed; its
        responses and row order unchanged. The intact text is kept in `intact_text`."""
        rows = data.passages()
        texts = [[str(data.stimuli["text"].iloc[r]) for r in p] for p in rows]
        perturbed, orders = perturb_passages(texts, self.name, self.seed, self.unit)
        text = data.stimuli["text"].astype(str).to_numpy(copy=True)
        position = np.zeros(len(text), dtype=int)
        for p, new, order in zip(rows, perturbed, orders):
            for j, (k, t) in enumerate(zip(order, new)):
                text[p[k]], position[p[k]] = t, j
        out = copy.copy(data)
        out.stimuli = data.stimuli.assign(intact_text=data.stimuli["text"], text=text, presented_at=position)
        out.order_by = ["presented_at"]
        return out

    def describe(self) -> dict:
        return {"name": self.name, "seed": self.seed}


def perturbation_of(dataset_cfg, spec=None):
    """The Perturbation `dataset.perturb` / `dataset.perturb_seed` ask for (None: intact), refused with
    one line when the benchmark's declaration (BenchmarkSpec.perturbations) does not take it."""
    name = str(dataset_cfg.get("perturb") or "none")
    seed = dataset_cfg.get("perturb_seed", 0)
    if name != "none" and name not in PERTURBATIONS:
        raise ConfigError(f"dataset.perturb={name}: choose one of none, {', '.join(PERTURBATIONS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"dataset.perturb_seed={seed}: must be an integer >= 0")
    if name == "none":
        if seed != 0:
            raise ConfigError(f"dataset.perturb_seed={seed} has no effect with dataset.perturb=none; "
                              "set dataset.perturb too, or leave the seed out")
        return None
    from brainalign import registry

    spec = spec or registry.benchmark(str(dataset_cfg.get("benchmark")))
    if name not in spec.perturbations:
        takes = f"it takes {', '.join(spec.perturbations)}" if spec.perturbations else "its stimuli are not text it can perturb"
        raise ConfigError(f"dataset={dataset_cfg.get('name')} cannot take dataset.perturb={name}: {takes}")
    return Perturbation(name, int(seed), spec.stimulus_unit)
