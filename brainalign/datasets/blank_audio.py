"""The listening version of the Natural Stories: word timings and the text of each fMRI TR.

Blank et al. 2014 scanned people listening to the Natural Stories. Brain-Score's `Blank2014.fROI`
pairs every 2 s TR with the words heard just before it (after a 4 s BOLD delay). This module
rebuilds those TR text fragments from the public audio alignments of languageMIT/naturalstories
(`audio/{1..10}_aligned.TextGrid`, whose `words` tier reads e.g. "ENGLAND / 1.10.word", i.e.
WORD / story.token[.piece]) and the story text (`all_stories.tok`, one token per row).
"""

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

STORIES = {1: "Boar", 2: "Aqua", 3: "MatchstickSeller", 4: "KingOfBirds", 5: "Elvis",
           6: "MrSticky", 7: "HighSchool", 8: "Roswell", 9: "Tulips", 10: "Tourette"}
BLANK_STORIES = ["Aqua", "Boar", "Elvis", "HighSchool", "KingOfBirds", "MatchstickSeller",
                 "MrSticky", "Tulips"]  # Roswell and Tourette are not in Blank2014
# fMRI volumes recorded per story (Brain-Score's story metadata)
RECORDING_TRS = {"Boar": 169, "Aqua": 159, "MatchstickSeller": 197, "KingOfBirds": 198,
                 "Elvis": 151, "MrSticky": 205, "HighSchool": 174, "Roswell": 197, "Tulips": 194,
                 "Tourette": 211}
TR_S, BOLD_SHIFT_S, FIXATION_S = 2.0, 4.0, 8.0
IGNORED_WORDS = {"", "<s>", "</s>", "<s"}  # silences and sentence markers
# Characters that stay with the fragment before them (Brain-Score's alignment rule); '-' does not.
TRAILING = set(",\"':.!?() ")
SENTENCE_ENDS = (".", "?", "!", ".'", "?'", "!'")

_INTERVAL = re.compile(r'^\s*(xmin|xmax|text)\s*=\s*(.*?)\s*$')
_CODE = re.compile(r"(\d+)\.(\d+)(?:\.(\w+))?")


def read_textgrid(path, tier="words") -> pd.DataFrame:
    """The intervals (start, end, text) of one tier of a long-format Praat TextGrid (or .gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    rows, in_tier, current = [], False, {}
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("name ="):
                in_tier = stripped.split("=", 1)[1].strip().strip('"') == tier
                continue
            if stripped.startswith("intervals ["):
                current = {}
            match = _INTERVAL.match(line)
            if not in_tier or not match:
                continue
            key, value = match.groups()
            if key == "text":
                # Praat doubles quotes inside a string; one file also has a stray trailing quote
                current["text"] = value[1:-1].replace('""', '"') if value.startswith('"') else value
                rows.append(current)
                current = {}
            else:
                current[key] = float(value)
    if not rows:
        raise ValueError(f"{path}: no intervals in a tier named {tier!r}")
    return pd.DataFrame({"start": [r["xmin"] for r in rows], "end": [r["xmax"] for r in rows],
                         "text": [r["text"] for r in rows]})


def story_words(textgrid_path) -> pd.DataFrame:
    """A story's word intervals: start, end, word (as spoken), token (1-based, -1 for silences and
    markers) and piece ('' for a whole token; 1, 3, ... for the parts of a hyphenated one)."""
    words = read_textgrid(textgrid_path, "words")
    word, token, piece = [], [], []
    for text in words["text"]:
        spoken, _, code = text.partition(" / ")
        match = _CODE.search(code)
        word.append(spoken.strip())
        token.append(int(match.group(2)) if match else -1)
        piece.append(match.group(3) if match and (match.group(3) or "").isdigit() else "")
    return words.assign(word=word, token=token, piece=piece)


def story_tokens(all_stories_tok, story: int) -> list[str]:
    """The tokens (words with punctuation) of one story from `all_stories.tok`, in order."""
    table = pd.read_csv(all_stories_tok, sep="\t", quoting=3, keep_default_na=False)
    table = table[table["item"] == story].sort_values("zone")
    return table["word"].tolist()


def tr_words(words: pd.DataFrame, n_trs: int, tr_s=TR_S, bold_shift_s=BOLD_SHIFT_S,
             fixation_s=FIXATION_S) -> list[tuple[int, float, np.ndarray]]:
    """Brain-Score's TR rule: `(tr_index, timepoint_value, rows)` for every TR that hears new words,
    where `rows` are the positions in `words` of the (non-silent) words it heard, in time order.

    TR k is recorded at `tr_s * (k + 1) - fixation_s` seconds after the story starts; its stimulus
    is the words whose end time falls in (the previous TR's last interval end, time - BOLD shift].
    TRs in the fixation period (shifted time <= 0) and TRs without a new word are dropped; the scan
    stops once the last interval has been used.
    """
    order = np.argsort(words["end"].to_numpy(), kind="stable")
    ends = words["end"].to_numpy()[order]
    spoken = ~words["word"].isin(IGNORED_WORDS).to_numpy()[order]
    last_end, out = -np.inf, []
    for k in range(n_trs):
        timepoint = tr_s * (k + 1) - fixation_s
        shifted = timepoint - bold_shift_s
        if last_end >= ends[-1]:
            break
        if shifted <= 0:
            continue
        first, stop = np.searchsorted(ends, [last_end, shifted], side="right")
        if stop > first:
            last_end = ends[stop - 1]
        heard = first + np.flatnonzero(spoken[first:stop])
        if len(heard):
            out.append((k, timepoint, order[heard]))
    return out


def story_fragments(words: pd.DataFrame, tokens: list[str], story: str, n_trs: int,
                    **tr_kwargs) -> pd.DataFrame:
    """One row per TR with new words, in time order, with its fragment of the story text.

    The fragment runs from the end of the previous one to the end of the TR's last word, plus the
    punctuation, quotes and spaces that follow it, so a story's fragments joined with '' give the
    story text (tokens joined by spaces). Casing and punctuation come from the text, not the audio.
    """
    text = " ".join(tokens)
    starts = np.cumsum([0] + [len(t) + 1 for t in tokens])
    sentence_starts = _sentence_starts(tokens)
    spoken, token, piece = (words[c].to_numpy() for c in ("word", "token", "piece"))
    rows, begin, parts = [], 0, {}
    for k, timepoint, heard in tr_words(words, n_trs, **tr_kwargs):
        coded = heard[token[heard] > 0]
        if not len(coded):
            continue
        end = _word_end(starts, tokens, int(token[coded[-1]]), piece[coded[-1]])
        while end < len(text) and text[end] in TRAILING:
            end += 1
        if end <= begin:
            continue
        sentence = int(np.searchsorted(sentence_starts, end, side="left")) - 1
        part = parts.get(sentence, 0)
        parts[sentence] = part + 1
        rows.append({"story": story, "stimulus": text[begin:end],
                     "stimulus_id": f"{story}.{sentence}.{part}",
                     "sentence_number_in_story": sentence, "part_number_in_sentence": part,
                     "meta_sentence": " ".join(spoken[heard]).lower(),
                     "timepoint_value": timepoint, "tr_index": k})
        begin = end
    return pd.DataFrame(rows)


def blank_stimuli(naturalstories_dir, stories=BLANK_STORIES, n_trs=None) -> pd.DataFrame:
    """The TR fragments of the Blank2014 stories, story by story in time order.

    `naturalstories_dir` holds `all_stories.tok` and `audio_textgrids/{n}_aligned.TextGrid[.gz]`.
    `n_trs` maps a story to its number of recorded TRs (default: Brain-Score's metadata).
    """
    root = Path(naturalstories_dir)
    numbers = {name: number for number, name in STORIES.items()}
    n_trs = n_trs or RECORDING_TRS
    frames = []
    for story in stories:
        number = numbers[story]
        grid = root / "audio_textgrids" / f"{number}_aligned.TextGrid.gz"
        if not grid.exists():
            grid = grid.with_suffix("")
        tokens = story_tokens(root / "all_stories.tok", number)
        frames.append(story_fragments(story_words(grid), tokens, story, n_trs[story]))
    return pd.concat(frames, ignore_index=True)


def _word_end(starts, tokens, token, piece) -> int:
    """Character index just after the last letter/digit of a token, or of its hyphen piece."""
    token_text = tokens[token - 1]
    offset = 0
    if str(piece).isdigit():  # pieces 1, 3, 5, ... are a hyphenated token's parts (2, 4, ... '-')
        pieces = token_text.split("-")
        index = (int(piece) - 1) // 2
        if index < len(pieces) - 1:
            token_text = pieces[index]
            offset = sum(len(p) + 1 for p in pieces[:index])
    letters = [i for i, c in enumerate(token_text) if c.isalnum()]
    last = letters[-1] + 1 if letters else len(token_text)
    return int(starts[token - 1]) + offset + last


def _sentence_starts(tokens) -> np.ndarray:
    """Start of every sentence in the space-joined text (a sentence ends at . ? ! .' ?' !')."""
    starts, position = [0], 0
    for t in tokens:
        position += len(t) + 1
        if t.endswith(SENTENCE_ENDS):
            starts.append(position)
    return np.array(starts)
