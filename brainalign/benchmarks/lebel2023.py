"""LeBel2023 (OpenNeuro ds003020): 8 people listening to The Moth stories, voxel by voxel in subject space;
scored with the voxelwise encoding pipeline (benchmarks/voxelwise.py, docs/naturalistic.md)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from brainalign.benchmarks.voxelwise import VoxelwiseBenchmark, cost_words
from brainalign.config.schema import DatasetConfig
from brainalign.registry import BenchmarkSpec, declare

SUBJECTS = [f"UTS0{i}" for i in range(1, 9)]
WORDS = 27 * 1800   # documented size: 27 stories of 10-15 min at ~2.5 words/s (task=plan without the files)


@dataclass
class LebelConfig(DatasetConfig):
    path: Optional[str] = None           # ds003020's derivatives folder (preprocessed_data/, TextGrids/, respdict.json)
    subjects: List[str] = field(default_factory=lambda: list(SUBJECTS))
    stories: Optional[List[str]] = None  # null: every story each subject has
    test_stories: List[str] = field(default_factory=lambda: ["wheretheressmoke"])
    max_voxels: Optional[int] = None     # per subject, evenly spaced: a quick look (marked as a subset)
    trim_start: int = 10                 # TRs of the features' grid dropped before / after each story
    trim_end: int = 5                    # (the .hf5 responses are stored trimmed)
    word_tier: str = "word"
    word_time: str = "onset"             # onset | middle
    context_words: int = 100             # words read before each word (left-truncated to the model's window)
    layers: Optional[List[str]] = None   # null: the model config's
    pycortex_db: Optional[str] = None    # the release's pycortex-db folder: each subject's cortical mask, for slice maps
    batch_size: int = 32


def build(dataset_cfg, metric_cfg=None):
    from brainalign.datasets.lebel import load_lebel

    return VoxelwiseBenchmark(dataset_cfg, metric_cfg, load_lebel)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Words from the TextGrids when dataset.path has them, else the documented size."""
    grids = Path(str(d.get("path") or "")).expanduser() / "TextGrids"
    if d.get("path") and grids.is_dir():
        from brainalign.datasets.stories import textgrid_words

        stories = d.get("stories") or [p.stem for p in grids.glob("*.TextGrid")]
        n = sum(len(textgrid_words(grids / f"{s}.TextGrid", d.get("word_tier", "word"), "onset")) for s in stories)
        return cost_words(n, d, tokens_per_word, window), n, "words in the TextGrids"
    return cost_words(WORDS, d, tokens_per_word, window), WORDS, "documented sizes (27 stories)"


SPEC = declare(BenchmarkSpec(
    name="lebel2023", kind="brain", schema=LebelConfig, build=build,
    default_metric="voxelwise-ridge", metrics=("voxelwise-ridge",),
    subset_keys={"subjects": list(SUBJECTS), "stories": None, "max_voxels": None},
    ceiling="computed", ceiling_missing="explainable variance of the repeated test story; none when it has no repeats",
    locations=("path", "pycortex_db"), data_files=("path",), cost=cost))
