"""Wehbe et al. (2014): 8 people reading Harry Potter chapter 9 word by word in the scanner.

We read the preprocessed release of Toneva & Wehbe (2019) that the study's code uses, from a local
folder `dataset.path` laid out as in `mtoneva/brain_language_nlp`'s `data/` folder:

    fMRI/data_subject_<S>.npy   TRs x voxels, detrended, smoothed, first 20 / last 15 TRs of each
                                run already removed (1,211 rows), S in F H I J K L M N
    fMRI/time_fmri.npy          onset (s) of each of the 1,351 untrimmed TRs
    fMRI/runs_fmri.npy          run (1..4) of each untrimmed TR
    fMRI/time_words_fmri.npy    onset (s) of each of the 5,176 presented words
    HP_subj_roi_inds.npy        {subject: {'all': voxel mask, 'PostTemp': ..., ...}} (pickled dict, read
                                without running code; also looked for in fMRI/); 'all' is the language network

The presented word sequence (`stimuli_words.npy`, 5,176 entries, '+' = fixation) is copyrighted
book text: it is read from `dataset.words_path`, the release folder, or ../shared/data/wehbe2014/.
"""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brainalign.errors import ConfigError, DataMismatch, DataUnavailable
from brainalign.plumbing.npy import load_pickled

log = logging.getLogger(__name__)

SUBJECTS = ("F", "H", "I", "J", "K", "L", "M", "N")
HEAD_TRIM, TAIL_TRIM = 20, 15  # TRs the release removed from the start / end of every run
RELEASE_URL = "https://drive.google.com/drive/folders/1Q6zVCAJtKuLOh-zWpkS3lH8LBvHcEOE8"
ROI_URL = ("https://raw.githubusercontent.com/awwkl/brain_language_summarization/"
           "9983f91b46c6c3a823d748993842a6cf12791fc7/data/HP_subj_roi_inds.npy")
SYNTHETIC_MARKER = "SYNTHETIC"  # a file of this name marks a simulated release (tests)


@dataclass
class WehbeTiming:
    """When each TR and each word happened, and which TRs the release kept."""

    tr_times: np.ndarray  # [n_tr] onset of every untrimmed TR (s)
    runs: np.ndarray  # [n_tr] run number, 1..R, runs contiguous and in order
    word_times: np.ndarray  # [n_words] onset of every presented word (s)
    head_trim: int = HEAD_TRIM
    tail_trim: int = TAIL_TRIM
    kept: np.ndarray = field(init=False)  # [n_tr] bool: the TR is a row of the data files
    word_tr: np.ndarray = field(init=False)  # [n_words] the last TR whose onset precedes the word

    def __post_init__(self):
        self.tr_times = np.asarray(self.tr_times, dtype=np.float64).ravel()
        self.runs = np.asarray(self.runs).astype(int).ravel()
        self.word_times = np.asarray(self.word_times, dtype=np.float64).ravel()
        if len(self.tr_times) != len(self.runs):
            raise DataMismatch(f"time_fmri.npy has {len(self.tr_times)} TRs but runs_fmri.npy has {len(self.runs)}")
        if np.any(np.diff(self.tr_times) <= 0):
            raise DataMismatch("time_fmri.npy: TR onsets are not strictly increasing")
        labels = self.run_labels
        if np.any(np.diff(self.runs) < 0) or list(labels) != list(range(1, len(labels) + 1)):
            raise DataMismatch(f"runs_fmri.npy: runs must be numbered 1..R in order, got {list(labels)}")
        short = [r for r in labels if (self.runs == r).sum() <= self.head_trim + self.tail_trim]
        if short:
            raise DataMismatch(f"runs_fmri.npy: run(s) {short} have no TRs left after trimming "
                               f"{self.head_trim} + {self.tail_trim}")
        self.kept = np.zeros(len(self.runs), dtype=bool)
        for r in labels:
            idx = np.flatnonzero(self.runs == r)
            self.kept[idx[self.head_trim:len(idx) - self.tail_trim]] = True
        if np.any(np.diff(self.word_times) < 0):
            raise DataMismatch("time_words_fmri.npy: word onsets are not in increasing order")
        self.word_tr = np.searchsorted(self.tr_times, self.word_times, side="left") - 1
        tr = np.median(np.diff(self.tr_times))
        outside = (self.word_tr < 0) | (self.word_times > self.tr_times[-1] + tr)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise DataMismatch(f"time_words_fmri.npy: {int(outside.sum())} word onsets lie outside the scan "
                               f"({self.tr_times[0]:.1f}..{self.tr_times[-1] + tr:.1f} s), the first is word {i} "
                               f"at {self.word_times[i]:.1f} s")

    @property
    def run_labels(self) -> np.ndarray:
        return np.unique(self.runs)

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())

    @property
    def kept_runs(self) -> np.ndarray:
        """The run of each kept TR (row of the data)."""
        return self.runs[self.kept]

    def describe(self) -> str:
        return (f"{len(self.runs)} TRs in {len(self.run_labels)} runs = {self.n_kept} after removing the first "
                f"{self.head_trim} and last {self.tail_trim} TRs of each run")


@dataclass
class WehbeData:
    words: np.ndarray  # [n_words] the presented words, '+' = fixation
    timing: WehbeTiming
    responses: np.ndarray  # float32 [n_kept, n_voxels], all subjects' selected voxels side by side
    subjects: np.ndarray  # [n_voxels] subject of each column
    voxel_ids: np.ndarray  # [n_voxels] the column's index in its subject's data file
    roi: str | None = "all"
    synthetic: bool = False
    source: str = ""

    @property
    def subject_names(self) -> list[str]:
        return list(dict.fromkeys(self.subjects.tolist()))

    def __repr__(self):
        return (f"WehbeData({len(self.words)} words, {self.responses.shape[0]} TRs x {self.responses.shape[1]} "
                f"voxels, subjects {self.subject_names}, roi={self.roi!r}, synthetic={self.synthetic})")


def load_words(path=None, release: Path | None = None) -> np.ndarray:
    """The presented word sequence: `path`, else the release folder's copy."""
    candidates = [Path(os.path.expanduser(str(path)))] if path else []
    if release is not None:
        candidates += [release / "stimuli_words.npy", release / "fMRI" / "stimuli_words.npy"]
    for c in candidates:
        if c.is_file():
            words = np.load(c, allow_pickle=False)
            if words.ndim != 1 or len(words) == 0:
                raise DataMismatch(f"{c}: expected a 1-D array of words, got shape {words.shape}")
            return words.astype(str)
    if path:
        raise DataUnavailable(f"dataset.words_path={path} does not exist")
    raise DataUnavailable("the Harry Potter word sequence (stimuli_words.npy, 5,176 words) is not here. It is "
                          "data/stimuli_words.npy in https://github.com/mtoneva/brain_language_nlp; put it in the "
                          "release folder or set dataset.words_path=/path/to/stimuli_words.npy")


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataUnavailable(
            f"Wehbe2014: {what} not found at {path}.\n  The preprocessed Harry Potter fMRI release has no direct "
            f"download link; get the folder `fMRI/` from {RELEASE_URL} (linked from "
            f"https://github.com/mtoneva/brain_language_nlp) and HP_subj_roi_inds.npy from {ROI_URL}, put both in "
            f"one folder and set dataset.path=/that/folder")
    return path


def load_rois(path: Path) -> dict:
    rois = load_pickled(path)  # the release's format: a pickled dict
    if not isinstance(rois, dict):
        raise DataMismatch(f"{path}: expected a dict {{subject: {{roi: mask}}}}, got {type(rois).__name__}")
    return rois


def roi_columns(mask, n_voxels: int, where: str) -> np.ndarray:
    """Column indices from a boolean / 0-1 mask over the voxels, or from an array of indices."""
    mask = np.asarray(mask).ravel()
    if mask.dtype == bool or (len(mask) == n_voxels and set(np.unique(mask).tolist()) <= {0, 1}):
        if len(mask) != n_voxels:
            raise DataMismatch(f"{where}: the ROI mask has {len(mask)} entries but the data have {n_voxels} voxels")
        return np.flatnonzero(mask)
    idx = mask.astype(int)
    if idx.size and (idx.min() < 0 or idx.max() >= n_voxels):
        raise DataMismatch(f"{where}: ROI voxel indices reach {idx.max()} but the data have {n_voxels} voxels")
    return np.sort(idx)


def load_release(path, *, subjects=SUBJECTS, roi: str | None = "all", words_path=None,
                 max_voxels: int | None = None) -> WehbeData:
    """Read the release in `path` and check that every file agrees with the stimulus."""
    if not path:
        _need(Path("<dataset.path unset>") / "fMRI" / "time_fmri.npy", "the release folder (dataset.path)")
    root = Path(os.path.expanduser(str(path)))
    fmri = root / "fMRI" if (root / "fMRI").is_dir() else root
    timing = WehbeTiming(np.load(_need(fmri / "time_fmri.npy", "time_fmri.npy")),
                         np.load(_need(fmri / "runs_fmri.npy", "runs_fmri.npy")),
                         np.load(_need(fmri / "time_words_fmri.npy", "time_words_fmri.npy")))
    words = load_words(words_path, root)
    if len(timing.word_times) != len(words):
        raise DataMismatch(f"time_words_fmri.npy has {len(timing.word_times)} word onsets but the stimulus has "
                           f"{len(words)} words (stimuli_words.npy): the word timings do not match the stimulus")
    rois = None
    if roi:
        roi_file = next((p for p in (root / "HP_subj_roi_inds.npy", fmri / "HP_subj_roi_inds.npy") if p.is_file()),
                        root / "HP_subj_roi_inds.npy")
        rois = load_rois(_need(roi_file, "the language-network masks HP_subj_roi_inds.npy"))
    blocks, subject_of, voxel_ids = [], [], []
    for s in subjects:
        f = _need(fmri / f"data_subject_{s}.npy", f"subject {s}'s responses data_subject_{s}.npy")
        data = np.load(f, mmap_mode="r")
        if data.ndim != 2 or data.shape[0] != timing.n_kept:
            raise DataMismatch(f"{f.name} has {data.shape[0] if data.ndim else 0} TRs (rows) but time_fmri.npy and "
                               f"runs_fmri.npy describe {timing.describe()}: the TR count does not match")
        cols = np.arange(data.shape[1])
        if rois is not None:
            if s not in rois or roi not in rois[s]:
                have = sorted(rois[s]) if s in rois else sorted(rois)
                raise DataMismatch(f"HP_subj_roi_inds.npy has no {'ROI ' + repr(roi) if s in rois else 'subject'} "
                                   f"for subject {s}; it has {have}")
            cols = roi_columns(rois[s][roi], data.shape[1], f"HP_subj_roi_inds.npy[{s!r}][{roi!r}]")
        if max_voxels and len(cols) > max_voxels:  # a fixed, even subsample (quick runs only)
            cols = cols[np.linspace(0, len(cols) - 1, max_voxels).round().astype(int)]
        blocks.append(np.asarray(data[:, cols], dtype=np.float32))
        subject_of += [s] * len(cols)
        voxel_ids.append(cols)
    if not blocks:
        raise ConfigError("dataset.subjects is empty")
    return WehbeData(words=words, timing=timing, responses=np.concatenate(blocks, axis=1),
                     subjects=np.array(subject_of), voxel_ids=np.concatenate(voxel_ids), roi=roi,
                     synthetic=(root / SYNTHETIC_MARKER).exists() or (fmri / SYNTHETIC_MARKER).exists(),
                     source=str(root))


def load_wehbe(cfg) -> WehbeData:
    """The dataset a `conf/dataset/wehbe.yaml` config describes."""
    from brainalign.config import dataset_config

    cfg = dataset_config(cfg, "wehbe")
    return load_release(cfg.path, subjects=[str(s) for s in cfg.subjects], roi=cfg.roi,
                        words_path=cfg.words_path, max_voxels=cfg.max_voxels)
