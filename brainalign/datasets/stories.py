"""Story-listening fMRI (LeBel2023, Narratives) in one shape: each story's words with their times, each
subject's responses per story, and what the ceilings need (repeats of a test story, or each subject's
responses to it). The loaders of the released layouts are datasets/lebel.py and datasets/narratives.py."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.errors import DataMismatch, DataUnavailable

SILENCE = re.compile(r"^(|sp|sil|sl|\{.*\}|<.*>)$", re.IGNORECASE)   # pauses and noise markers, not words


@dataclass
class StoryData:
    name: str
    tr: float                              # seconds
    words: dict                            # story -> DataFrame(word, time): time in seconds from the scan's start
    n_trs: dict                            # story -> TRs of the whole scan (the features' time grid)
    trim_start: int                        # TRs dropped at the start / end of each story
    trim_end: int
    responses: dict                        # subject -> {story: [kept TRs, voxels] float32}
    test_stories: list = field(default_factory=list)   # held out (LeBel's repeated story); [] -> folds over stories
    repeats: dict = field(default_factory=dict)        # subject -> {story: [repeats, kept TRs, voxels]}
    by_subject: dict = field(default_factory=dict)     # story -> {subject: [kept TRs, voxels]} (averaged data)
    voxels: dict = field(default_factory=dict)         # subject -> the voxel (vertex) indices kept
    space: dict = field(default_factory=dict)          # where voxels live, for maps: hemispheres + n_vertices, or masks
    synthetic: bool = False

    @property
    def stories(self) -> list:
        return list(self.words)


def need(path: Path, what: str) -> Path:
    """`path`, or one DataUnavailable line naming what is missing and where."""
    if not path.exists():
        raise DataUnavailable(f"{what} not found: {path} (docs/naturalistic.md says how to download it)")
    return path


def kept_voxels(n: int, max_voxels) -> np.ndarray:
    """All voxel indices, or `max_voxels` evenly spaced ones (a quick look; marked as a subset)."""
    if not max_voxels or n <= int(max_voxels):
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, int(max_voxels)).round().astype(int))


def textgrid_words(path: Path, tier: str, time: str) -> pd.DataFrame:
    """The words of one tier of a Praat TextGrid (pauses and noise markers dropped), timed at their onset
    or middle (`time`)."""
    from brainalign.datasets.blank_audio import read_textgrid

    try:
        grid = read_textgrid(path, tier)
    except ValueError as e:
        raise DataMismatch(str(e)) from None
    grid = grid[~grid["text"].str.strip().str.match(SILENCE)]
    return word_table(grid["text"].str.strip(), grid["start"], grid["end"], time, str(path))


def word_table(words, onsets, offsets, time: str, source: str) -> pd.DataFrame:
    onsets, offsets = np.asarray(onsets, float), np.asarray(offsets, float)
    if len(onsets) == 0:
        raise DataMismatch(f"{source}: no timed words")
    at = onsets if time == "onset" else (onsets + offsets) / 2
    return pd.DataFrame({"word": list(words), "time": at})


def check_trs(n: int, expected: int, what: str) -> None:
    if n != expected:
        raise DataMismatch(f"{what} has {n} TRs but {expected} were expected")
