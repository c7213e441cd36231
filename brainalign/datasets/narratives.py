"""Narratives (Nastase et al. 2021), OpenNeuro ds002345, in its released layout under `dataset.path`:

    derivatives/<variant>/sub-*/func/sub-*_task-<task>_[run-*_]space-fsaverage6_hemi-{L,R}_desc-clean.func.gii
    stimuli/gentle/<task>/align.csv            gentle's alignment: word, aligned word, onset, offset (s)

`variant` is afni-nosmooth or afni-smooth. The TR is 1.5 s. fsaverage6 is a shared surface, so each
story's responses are averaged over the subjects who heard it (one "group" subject; each subject's own
responses to a story are kept for the inter-subject ceiling). `stimulus_onsets` gives, per task, the
seconds from the scan's start to the story's start (0 by default). A subject with several runs of a
task contributes its first.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.datasets.stories import StoryData, check_trs, kept_voxels, need, word_table
from brainalign.errors import ConfigError, DataMismatch

log = logging.getLogger(__name__)
TR = 1.5
VARIANTS = ("afni-nosmooth", "afni-smooth")


def read_align(path: Path, time: str, onset: float) -> pd.DataFrame:
    """Words gentle aligned (unaligned ones, without times, are dropped), timed from the scan's start."""
    table = pd.read_csv(path, header=None, usecols=[0, 1, 2, 3], names=["word", "aligned", "onset", "offset"],
                        keep_default_na=False, na_values={"onset": [""], "offset": [""]})
    table = table.dropna(subset=["onset", "offset"])
    return word_table(table["word"].astype(str), table["onset"] + onset, table["offset"] + onset, time, str(path))


def read_gifti(path: Path) -> np.ndarray:
    """[TRs, vertices] of a func.gii (one data array per TR)."""
    import nibabel as nib

    try:
        image = nib.load(str(path))
    except Exception as e:   # nibabel raises several kinds for a broken file
        raise DataMismatch(f"{path} is not a readable GIFTI file: {e}") from None
    return np.column_stack([d.data for d in image.darrays]).T.astype(np.float32)


def _runs(func: Path, subject: str, task: str, hemi: str) -> list:
    return sorted(func.glob(f"{subject}_task-{task}_*space-fsaverage6_hemi-{hemi}_desc-clean.func.gii"))


def load_narratives(cfg) -> StoryData:
    if cfg.variant not in VARIANTS:
        raise ConfigError(f"dataset.variant={cfg.variant!r}; choose one of {', '.join(VARIANTS)}")
    hemis = list(cfg.hemispheres)
    if not hemis or set(hemis) - {"L", "R"}:
        raise ConfigError(f"dataset.hemispheres={hemis}; choose from [L, R]")
    root = need(Path(str(cfg.path)).expanduser(), "the Narratives folder (dataset.path)")
    surf = need(root / "derivatives" / cfg.variant, f"derivatives/{cfg.variant}")
    gentle = need(root / "stimuli" / "gentle", "stimuli/gentle")
    tasks = list(cfg.stories) if cfg.stories else sorted(p.name for p in gentle.iterdir() if p.is_dir())
    subjects = list(cfg.subjects) if cfg.subjects else sorted(p.name for p in surf.glob("sub-*") if p.is_dir())
    onsets = dict(cfg.stimulus_onsets or {})
    words, n_trs, by_subject = {}, {}, {}
    keep = None
    for task in tasks:
        words[task] = read_align(need(gentle / task / "align.csv", f"task {task}'s align.csv"), cfg.word_time,
                                 float(onsets.get(task, 0.0)))
        by_subject[task] = {}
        for subject in subjects:
            runs = {h: _runs(surf / subject / "func", subject, task, h) for h in hemis}
            if not all(runs.values()):
                continue
            series = [read_gifti(runs[h][0]) for h in hemis]
            if len({s.shape[0] for s in series}) > 1:
                raise DataMismatch(f"{subject} {task}: the hemispheres have {[s.shape[0] for s in series]} TRs")
            values = np.concatenate(series, axis=1)
            if keep is None:
                keep = kept_voxels(values.shape[1], cfg.max_voxels)
                space = {"hemispheres": hemis, "n_vertices": series[0].shape[1]}
            if values.shape[1] < len(keep) or (keep[-1] >= values.shape[1]):
                raise DataMismatch(f"{runs[hemis[0]][0]}: {values.shape[1]} vertices, unlike the other files")
            n = n_trs.setdefault(task, values.shape[0])
            check_trs(values.shape[0], n, f"{runs[hemis[0]][0]} (other subjects' {task})")
            by_subject[task][subject] = values[int(cfg.trim_start):n - int(cfg.trim_end), keep]
        if not by_subject[task]:
            raise DataMismatch(f"task {task}: no fsaverage6 {cfg.variant} files for subjects {subjects} "
                               f"(hemispheres {hemis}) under {surf}")
    if len(tasks) < 3:
        raise ConfigError(f"dataset.stories: {len(tasks)} stories; folds over stories need three at least")
    responses = {"group": {t: np.mean(list(v.values()), axis=0).astype(np.float32) for t, v in by_subject.items()}}
    log.info("Narratives: %d tasks, %d subjects", len(tasks), len({s for v in by_subject.values() for s in v}))
    return StoryData(name="narratives", tr=TR, words=words, n_trs=n_trs, trim_start=int(cfg.trim_start),
                     trim_end=int(cfg.trim_end), responses=responses, by_subject=by_subject, voxels={"group": keep},
                     space=space)
