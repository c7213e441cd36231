"""Narratives (Nastase et al. 2021, OpenNeuro ds002345): story listening on the fsaverage6 surface,
averaged over the subjects of each story; scored with the voxelwise encoding pipeline
(benchmarks/voxelwise.py, docs/naturalistic.md)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from brainalign.benchmarks.voxelwise import VoxelwiseBenchmark, cost_words
from brainalign.config.schema import DatasetConfig
from brainalign.registry import BenchmarkSpec, declare

WORDS = 27 * 1500   # documented size: ~27 stories, 4.6 h of speech (task=plan without the files)


@dataclass
class NarrativesConfig(DatasetConfig):
    path: Optional[str] = None           # ds002345's root (derivatives/, stimuli/gentle/)
    variant: str = "afni-nosmooth"       # afni-nosmooth | afni-smooth
    subjects: Optional[List[str]] = None  # null: every sub-* folder
    stories: Optional[List[str]] = None  # tasks; null: every task under stimuli/gentle
    hemispheres: List[str] = field(default_factory=lambda: ["L", "R"])
    max_voxels: Optional[int] = None     # evenly spaced vertices: a quick look (marked as a subset)
    stimulus_onsets: Dict[str, float] = field(default_factory=dict)   # task -> seconds from scan start to story start
    trim_start: int = 10
    trim_end: int = 5
    word_time: str = "onset"             # onset | middle
    context_words: int = 100
    layers: Optional[List[str]] = None
    batch_size: int = 32


def build(dataset_cfg, metric_cfg=None):
    from brainalign.datasets.narratives import load_narratives

    return VoxelwiseBenchmark(dataset_cfg, metric_cfg, load_narratives)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Words from the align.csv files when dataset.path has them, else the documented size."""
    gentle = Path(str(d.get("path") or "")).expanduser() / "stimuli" / "gentle"
    if d.get("path") and gentle.is_dir():
        from brainalign.datasets.narratives import read_align

        tasks = d.get("stories") or [p.name for p in gentle.iterdir() if p.is_dir()]
        n = sum(len(read_align(gentle / t / "align.csv", "onset", 0.0)) for t in tasks)
        return cost_words(n, d, tokens_per_word, window), n, "words in the align.csv files"
    return cost_words(WORDS, d, tokens_per_word, window), WORDS, "documented sizes (27 stories)"


SPEC = declare(BenchmarkSpec(
    name="narratives", kind="brain", schema=NarrativesConfig, build=build,
    default_metric="voxelwise-ridge", metrics=("voxelwise-ridge",),
    subset_keys={"subjects": None, "stories": None, "max_voxels": None, "hemispheres": ["L", "R"]},
    folder_keys={"variant": "afni-nosmooth"},
    ceiling="computed", ceiling_missing="inter-subject (ISC) ceiling; none when every story was heard by one subject",
    locations=("path",), data_files=("path",), cost=cost))
