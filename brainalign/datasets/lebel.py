"""LeBel et al. (2023), OpenNeuro ds003020, in its released derivatives layout under `dataset.path`:

    preprocessed_data/<subject>/<story>.hf5   key `data`: [TRs, voxels], already trimmed and z-scored
    TextGrids/<story>.TextGrid                 Praat TextGrid with a word tier (`dataset.word_tier`)
    respdict.json                              story -> its TRs in the .hf5 files

The TR is 2 s. The .hf5 files hold the responses after the trimming, so a story's feature grid is its
respdict TRs plus `trim_start + trim_end`. The repeated test story (`wheretheressmoke`): a `data` of
three dimensions [repeats, TRs, voxels] is read as its repeats (scored on their mean, kept for the
noise ceiling); a two-dimensional one is taken as the mean of the repeats (no repeats stored). This is
an assumption about the release (docs/naturalistic.md).
"""

import json
import logging
from pathlib import Path

import numpy as np

from brainalign.datasets.pycortex_masks import cortical_mask
from brainalign.datasets.stories import StoryData, check_trs, kept_voxels, need, textgrid_words
from brainalign.errors import ConfigError, DataMismatch

log = logging.getLogger(__name__)
TR = 2.0


def _read(path: Path, max_voxels):
    import h5py

    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise DataMismatch(f"{path} has no dataset named 'data' (keys: {sorted(f)})")
        data = f["data"]
        keep = kept_voxels(data.shape[-1], max_voxels)
        values = data[..., keep] if len(keep) < data.shape[-1] else data[...]
    return np.asarray(values, dtype=np.float32), keep


def load_lebel(cfg) -> StoryData:
    root = need(Path(str(cfg.path)).expanduser(), "the LeBel2023 derivatives folder (dataset.path)")
    counts = json.loads(need(root / "respdict.json", "respdict.json").read_text())
    subjects = list(cfg.subjects)
    if not subjects:
        raise ConfigError("dataset.subjects is empty; name at least one (e.g. [UTS01])")
    folders = {s: need(root / "preprocessed_data" / s, f"subject {s}'s responses") for s in subjects}
    if cfg.stories:
        stories = list(cfg.stories)
        unknown = [s for s in stories if s not in counts]
        if unknown:
            raise ConfigError(f"dataset.stories: {unknown} not in {root / 'respdict.json'}")
    else:   # every story each subject has
        stories = [s for s in sorted(counts) if all((folders[x] / f"{s}.hf5").exists() for x in subjects)]
    tests = [s for s in cfg.test_stories if s in stories]
    if not tests:
        raise ConfigError(f"dataset.test_stories={list(cfg.test_stories)} names none of the stories scored {stories}")
    if len(stories) - len(tests) < 2:
        raise ConfigError(f"dataset.stories: {len(stories) - len(tests)} training stories; the penalty is chosen "
                          "by leaving training stories out, so give two at least")
    words = {s: textgrid_words(need(root / "TextGrids" / f"{s}.TextGrid", f"story {s}'s TextGrid"),
                               cfg.word_tier, cfg.word_time) for s in stories}
    trims = int(cfg.trim_start) + int(cfg.trim_end)
    responses, repeats, voxels = {}, {}, {}
    for subject in subjects:
        responses[subject], repeats[subject] = {}, {}
        for story in stories:
            path = need(folders[subject] / f"{story}.hf5", f"{subject}'s responses to {story}")
            values, keep = _read(path, cfg.max_voxels)
            check_trs(values.shape[-2], int(counts[story]), f"{path} (respdict.json says {counts[story]})")
            if subject in voxels and len(keep) != len(voxels[subject]):
                raise DataMismatch(f"{path} has {values.shape[-1]} voxels; {subject}'s other stories have another count")
            voxels[subject] = keep
            if values.ndim == 3:
                repeats[subject][story] = values
                values = values.mean(0)
            responses[subject][story] = values
    space = {"masks": {s: cortical_mask(cfg.pycortex_db, s, voxels[s][-1] + 1) for s in subjects}} \
        if cfg.get("pycortex_db") else {}
    log.info("LeBel2023: %d subjects, %d stories (%s held out)", len(subjects), len(stories), tests)
    return StoryData(name="lebel2023", tr=TR, words=words, n_trs={s: int(counts[s]) + trims for s in stories},
                     trim_start=int(cfg.trim_start), trim_end=int(cfg.trim_end), responses=responses,
                     test_stories=tests, repeats={s: r for s, r in repeats.items() if r}, voxels=voxels,
                     space=space)
