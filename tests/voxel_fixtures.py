"""Small story-listening data sets in the released layouts of LeBel2023 (ds003020 derivatives) and
Narratives (ds002345), driven by the real word timings of the Natural Stories audio TextGrids.

Each voxel is noise, and the first `n_planted` are plus `drive(story, words, n_trs)` ([n_trs, k] at the
scan's TRs) mixed by random weights; the test story of LeBel is stored as [repeats, TRs, voxels]."""

import json
from pathlib import Path

import numpy as np

from brainalign.config.paths import shared_dir

GRIDS = Path("data/futrell2018/naturalstories/audio_textgrids")
LEBEL_STORIES = ["alternateithicatom", "souls", "avatar", "wheretheressmoke"]
NARRATIVES_TASKS = ["pieman", "tunnel", "lucy"]


def natural_story_words(number: int, seconds: float):
    """(word, start, end) of Natural Stories story `number` up to `seconds` (real word timings)."""
    from brainalign.datasets.blank_audio import story_words

    words = story_words(shared_dir() / GRIDS / f"{number}_aligned.TextGrid.gz")
    words = words[(words["token"] > 0) & (words["end"] <= seconds)]
    return words[["word", "start", "end"]].reset_index(drop=True)


def write_textgrid(path: Path, words, total: float, tier: str = "word") -> None:
    """A long-format Praat TextGrid with one interval tier: the words, and "sp" in every gap."""
    intervals, t = [], 0.0
    for w, a, b in zip(words["word"], words["start"], words["end"]):
        if a > t:
            intervals.append((t, a, "sp"))
        intervals.append((a, b, str(w).lower()))
        t = b
    intervals.append((t, total, "sp"))
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {total}",
             "tiers? <exists>", "size = 1", "item []:", "    item [1]:", '        class = "IntervalTier"',
             f'        name = "{tier}"', "        xmin = 0", f"        xmax = {total}",
             f"        intervals: size = {len(intervals)}"]
    for i, (a, b, text) in enumerate(intervals, 1):
        lines += [f"        intervals [{i}]:", f"            xmin = {a}", f"            xmax = {b}",
                  f'            text = "{text}"']
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _responses(rng, n_trs, n_voxels, signal, n_planted, weights, noise, where=None):
    """Noise, plus the signal in the first `n_planted` voxels (or in the voxels `where`)."""
    values = noise * rng.standard_normal((n_trs, n_voxels))
    if signal is not None:
        s = (signal - signal.mean(0)) / np.where(signal.std(0) > 0, signal.std(0), 1)
        planted = s @ weights
        values[:, slice(0, n_planted) if where is None else where] += planted / planted.std(0)
    return values


def make_lebel(root: Path, *, subjects=("UTS01",), seconds=150.0, n_voxels=40, n_planted=10, drive=None,
               repeats=3, noise=1.0, trim=(10, 5), seed=0, planted=None) -> Path:
    """ds003020's derivatives under `root`; returns `root`. Story i uses Natural Stories story i + 1.
    `planted`: the planted voxels' indices (n_planted of them) instead of the first ones."""
    import h5py

    rng = np.random.default_rng(seed)
    tr, counts, weights = 2.0, {}, None
    for i, story in enumerate(LEBEL_STORIES):
        words = natural_story_words(i + 1, seconds)
        n_full = int(seconds // tr)
        write_textgrid(root / "TextGrids" / f"{story}.TextGrid", words, n_full * tr)
        signal = drive(story, words, n_full) if drive else None
        if signal is not None and weights is None:
            weights = rng.standard_normal((signal.shape[1], n_planted))
        counts[story] = n_full - sum(trim)
        for subject in subjects:
            def one():
                full = _responses(rng, n_full, n_voxels, signal, n_planted, weights, noise, planted)
                kept = full[trim[0]:n_full - trim[1]]
                return (kept - kept.mean(0)) / kept.std(0)
            data = np.stack([one() for _ in range(repeats)]) if story == "wheretheressmoke" else one()
            path = root / "preprocessed_data" / subject / f"{story}.hf5"
            path.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(path, "w") as f:
                f.create_dataset("data", data=data.astype(np.float32))
    (root / "respdict.json").write_text(json.dumps(counts))
    return root


def write_gifti(path: Path, series: np.ndarray) -> None:
    """A func.gii with one float32 data array per TR (series [TRs, vertices])."""
    import nibabel as nib

    image = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(row.astype(np.float32),
                                                                   intent="NIFTI_INTENT_TIME_SERIES")
                                          for row in series])
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))


def make_narratives(root: Path, *, subjects=("sub-001", "sub-002"), seconds=150.0, n_vertices=20, n_planted=5,
                    drive=None, noise=1.0, variant="afni-nosmooth", seed=0, planted=None) -> Path:
    """ds002345's layout under `root` (both hemispheres, `n_vertices` each); returns `root`. Task i uses
    Natural Stories story i + 5; the planted vertices are the first of each hemisphere, or
    `planted[hemi]` (n_planted indices each, hemi "L" / "R")."""
    rng = np.random.default_rng(seed)
    tr, weights = 1.5, None
    for i, task in enumerate(NARRATIVES_TASKS):
        words = natural_story_words(i + 5, seconds)
        align = root / "stimuli" / "gentle" / task / "align.csv"
        align.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{str(w).lower()},{str(w).lower()},{a:.2f},{b:.2f}" for w, a, b in zip(words["word"], words["start"], words["end"])]
        align.write_text("\n".join(rows[:3] + ["uh,<unk>,,"] + rows[3:]) + "\n")   # gentle leaves some words unaligned
        n_trs = int(seconds // tr)
        signal = drive(task, words, n_trs) if drive else None
        if signal is not None and weights is None:
            weights = rng.standard_normal((signal.shape[1], n_planted))
        for subject in subjects:
            for hemi in ("L", "R"):
                series = _responses(rng, n_trs, n_vertices, signal, n_planted, weights, noise,
                                    None if planted is None else planted[hemi])
                write_gifti(root / "derivatives" / variant / subject / "func" /
                            f"{subject}_task-{task}_space-fsaverage6_hemi-{hemi}_desc-clean.func.gii", series)
    return root


def write_mask(db: Path, subject: str, mask: np.ndarray) -> Path:
    """A pycortex-db cortical mask ([Z, Y, X] booleans, stored transposed as pycortex stores NIfTI)."""
    import nibabel as nib

    path = db / subject / "transforms" / f"{subject}_auto" / "mask_thick.nii.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(mask, dtype=np.uint8).T, np.eye(4)), str(path))
    return path
