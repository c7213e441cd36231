"""Typed config schemas: the defaults of the app and of the built-in benchmarks and metrics, once.

Each YAML under conf/ extends one of these (its `defaults` list names `/schema/<group>/<kind>`), so a
wrong type (`metric.n_splits=ten`) is refused by Hydra before any work, and library code reads
attributes instead of repeating defaults with `.get(key, default)`. A dataset or metric schema is
registered by the declaration that names it (brainalign/registry.py: BenchmarkSpec.schema,
MetricSpec.schema), so a plugin keeps its own schema in its own file.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


# ---- paths -------------------------------------------------------------------------------------
@dataclass
class PathsConfig:
    """Where things live; each has an environment override (docs/design.md)."""
    cache: str = "${oc.env:BRAINALIGN_CACHE,'~/.cache/brainalign'}"    # features, surprisals, ceilings
    data: str = "${oc.env:BRAINALIGN_DATA_DIR,${.cache}/data}"         # downloaded data sets
    results: str = "${oc.env:BRAINALIGN_RESULTS,outputs}"             # result.json folders
    tiny: str = "${oc.env:BRAINALIGN_TINY,${.cache}/tiny}"             # tiny stand-in models
    models: str = "${oc.env:BRAINALIGN_MODELS,${.cache}/models}"       # models built locally (deltas)
    localizer: str = "${oc.env:BRAINALIGN_LOCALIZER,${.data}/fedorenko2010_localizer}"  # model.localize stimuli
    shared: Optional[str] = "${oc.env:BRAINALIGN_SHARED,../shared}"   # the shared data root (tests, benches)
    brainscore_python: Optional[str] = "${oc.env:BRAINSCORE_PYTHON,null}"  # Brain-Score's venv (cross-checks)


# ---- model -------------------------------------------------------------------------------------
@dataclass
class GGUFConfig:
    package: Optional[str] = None   # the pip package that ships the file (import name); null: model.path
    file: str = MISSING


@dataclass
class PackageFolderConfig:
    name: str = MISSING      # an installed pip package (import name) holding a HF model folder
    folder: Optional[str] = None


@dataclass
class ResourcesConfig:       # for the SLURM launcher
    gpus: int = 0
    mem_gb: int = 4
    time_min: int = 30


@dataclass
class PropertiesConfig:      # the study's Table 7 (MMLU, BBH overall; WikiText-2 NWP loss)
    mmlu: Optional[float] = None
    bbh: Optional[float] = None
    nwp: Optional[float] = None


@dataclass
class ModelConfig:
    name: str = MISSING
    hf_id: Optional[str] = None
    path: Optional[str] = None           # a local folder (wins over gguf and hf_id)
    gguf: Optional[GGUFConfig] = None
    package: Optional[PackageFolderConfig] = None   # a HF folder inside an installed pip package
    revision: Optional[str] = None       # a hub revision (Pythia's step1000), or with `path` a checkpoint folder in it
    init: str = "pretrained"             # pretrained | random: the architecture untrained (docs/controls.md)
    init_seed: int = 0                   # init=random: the seed of the random weights
    architecture: Optional[Dict[str, Any]] = None  # init=random: AutoConfig.for_model keywords (model_type, sizes)
    tokens_per_step: Optional[float] = None  # training tokens per optimizer step (trajectory figures)
    family: str = MISSING                # gpt2 | llama | t5 | bert | baseline ...
    arch: str = "causal"                 # causal | seq2seq | encoder
    pooling: str = "last"                # encoders: last (the stimulus's last text token) | mean
    instruction_tuned: bool = False
    tuning: Optional[str] = None
    pair: Optional[str] = None           # the vanilla model an instruction-tuned one comes from
    params: Optional[float] = None
    n_layers: Optional[int] = None
    hidden_size: Optional[int] = None   # the residual stream's width (the analysis' width control)
    layers: List[str] = field(default_factory=lambda: ["embedding", "blocks"])
    study_layer: Optional[str] = None
    dtype: str = "float32"               # float32 | bfloat16 | float16
    device_map: Optional[str] = None     # auto: spread over the GPUs
    load_in_8bit: bool = False
    add_bos: Optional[bool] = None       # null: the tokenizer's own policy
    max_length: Optional[int] = None     # null: min(tokenizer limit, position embeddings)
    batch_size: Optional[int] = None     # sequences per forward pass; null: 4 on CPU, from free memory on GPU
    padding_side: Optional[str] = None   # batched extraction: right (default) | left
    build_tiny: Optional[str] = None     # a tiny random stand-in of this family, built at `path` on first use
    localize: Optional[float] = None     # language localizer: k units, or a fraction in (0, 1); null = off
    chat_template: str = "none"          # none (raw text, Brain-Score) | user (each context as a user turn)
    finetuned_from: Optional[str] = None # a checkpoint of instruction tuning: the model it started from,
    finetune_arm: Optional[str] = None   # the arm (instruction | no_instruction)
    finetune_step: Optional[int] = None  # and the training step
    baseline: Optional[str] = None       # family=baseline: oasm | position | n_words | n_chars | random_embedding
    sigma: float = 1.0                   # oasm: the Gaussian's width
    max_features: int = 2000             # oasm: the fixed width (>= the stimuli of one benchmark part)
    dim: int = 100                       # random_embedding: its width
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    properties: PropertiesConfig = field(default_factory=PropertiesConfig)


# ---- metrics -----------------------------------------------------------------------------------
@dataclass
class MetricConfig:
    name: str = MISSING
    kind: str = MISSING


@dataclass
class ReducibleMetricConfig(MetricConfig):
    """A metric that fits a map from a layer's features: the feature-count control (docs/controls.md)."""
    n_components: Optional[int] = None   # k features per layer, fitted on each training fold (null: off)
    reduce: Optional[str] = None         # pca (the default with n_components) | random-projection
    reduce_seed: int = 0                 # random-projection: the Gaussian matrix's seed


@dataclass
class ShuffleProtocol:
    n_splits: int = 10
    train_size: float = 0.9
    random_state: int = 1


@dataclass
class GroupProtocol:
    by: Optional[str] = "story"          # the stimulus column held out together
    n_splits: int = "${oc.select:dataset.ridge_splits,10}"  # type: ignore[assignment]
    random_state: int = 1234


@dataclass
class ContiguousProtocol:
    n_splits: int = 10
    within: Optional[str] = None         # cut within each block of this column (experiment, story)
    trim: int = 0                        # training rows dropped on each side of a test run


@dataclass
class LinearMetricConfig(ReducibleMetricConfig):
    """Brain-Score's linear_pearsonr: OLS (min-norm), ShuffleSplit, Pearson r per neuroid."""
    kind: str = "linear"
    correlation: str = "batched"         # batched (Brain-Score since 2025) | scipy (2023)
    n_splits: int = 10
    train_size: float = 0.9
    random_state: int = 1
    backend: str = "auto"                # auto (torch on CUDA when the run is on CUDA) | numpy | torch; float64
    cv: Any = "shuffle"                  # shuffle | group | contiguous, or a list: each scored (docs/protocols.md)
    shuffle: ShuffleProtocol = field(default_factory=lambda: ShuffleProtocol(
        n_splits="${..n_splits}", train_size="${..train_size}", random_state="${..random_state}"))  # type: ignore
    group: GroupProtocol = field(default_factory=GroupProtocol)
    contiguous: ContiguousProtocol = field(default_factory=ContiguousProtocol)


@dataclass
class RidgeMetricConfig(ReducibleMetricConfig):
    """Brain-Score's 2025 "-ridge": GroupKFold over stories, one GCV-chosen alpha for all neuroids."""
    kind: str = "ridge"
    group_by: Optional[str] = "story"    # null: ShuffleSplit over the rows (train_size)
    train_size: float = 0.9
    n_splits: int = 10
    random_state: int = 1234
    alphas: List[float] = field(default_factory=lambda: [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])
    backend: str = "auto"
    cv: Any = "group"
    group: GroupProtocol = field(default_factory=lambda: GroupProtocol(
        by="${..group_by}", n_splits="${..n_splits}", random_state="${..random_state}"))  # type: ignore
    shuffle: ShuffleProtocol = field(default_factory=ShuffleProtocol)
    contiguous: ContiguousProtocol = field(default_factory=ContiguousProtocol)


@dataclass
class NWPMetricConfig(MetricConfig):
    kind: str = "nwp"
    context: Optional[int] = None        # tokens per window; null: the model's own limit
    stride: Optional[int] = None         # new tokens scored per window; null: half the context
    batch_size: int = 1
    max_tokens: Optional[int] = None
    t5: str = "shifted"                  # encoder-decoders: shifted (no leak)


@dataclass
class PearsonrMetricConfig(MetricConfig):
    kind: str = "pearsonr"


@dataclass
class WehbeMetricConfig(MetricConfig):
    kind: str = "wehbe"


@dataclass
class AccuracyMetricConfig(MetricConfig):
    kind: str = "accuracy"               # SyntaxGym: items whose predictions all hold


@dataclass
class SimilarityMetricConfig(MetricConfig):
    """Brain-Score's cka / rdm: nothing fitted; ShuffleSplit, the similarity of each test set, mean."""
    kind: str = "cka"                    # cka | rdm
    n_splits: int = 10
    test_size: float = 0.9
    random_state: int = 1


@dataclass
class BandedMetricConfig(ReducibleMetricConfig):
    """What a layer explains beyond confound bands (banded ridge, one penalty per band per voxel)."""
    kind: str = "banded"
    confounds: List[str] = field(default_factory=lambda: ["oasm", "position", "length"])
    n_splits: int = 10
    train_size: float = 0.9
    random_state: int = 1
    alphas: List[float] = field(default_factory=lambda: [float(10 ** (k / 2)) for k in range(-4, 11)])
    n_gammas: int = 20                   # band-weight vectors searched per voxel
    gamma_seed: int = 0


@dataclass
class SelectMetricConfig(MetricConfig):
    """metric=auto (the dataset's default metric) or metric=study (the one the study used for it)."""
    kind: str = "select"


# ---- datasets ----------------------------------------------------------------------------------
@dataclass
class DatasetConfig:
    name: str = MISSING
    benchmark: str = MISSING
    perturb: str = "none"                # text perturbation of the stimuli (docs/controls.md); none = intact
    perturb_seed: int = 0


@dataclass
class StoreDatasetConfig(DatasetConfig):
    url: str = MISSING                   # Brain-Score's public store
    sha1: str = MISSING
    path: Optional[str] = None           # a local copy instead of the download
    cache_dir: str = "${paths.data}"


@dataclass
class RidgeCeilingFile:
    file: str = MISSING
    version_id: str = MISSING
    sha1: str = MISSING


@dataclass
class PereiraConfig(StoreDatasetConfig):
    experiments: List[str] = field(default_factory=lambda: ["243sentences", "384sentences"])
    group_by: str = "passage_label"      # Brain-Score's context unit; passage_index is the cleaner option
    ridge_splits: int = 10
    # metric=ridge divides by Brain-Score's ridge ceilings, stored beside the assembly (the folder of `url`),
    # fetched by version id and checked by SHA-1; or local copies in ridge_ceiling_dir
    ridge_ceilings: Dict[str, RidgeCeilingFile] = field(default_factory=lambda: {
        "243sentences": RidgeCeilingFile("ceiling_Pereira2018_243sentences-ridge.nc", "r3xGy2REPZfE7h1oFSnsNg5Rml9R5Ulz",
                                         "ba4c077bf0a9e1c46a9582790221c48113e0c5cf"),
        "384sentences": RidgeCeilingFile("ceiling_Pereira2018_384sentences-ridge.nc", "u1_f1sJvv9J8eVjWFfA4siHsFHH6rMc1",
                                         "167005f57c3f2826a9e6a24ba36d96640fcbf3df")})
    ridge_ceiling_dir: Optional[str] = None
    # brainscore: Brain-Score's stored ceiling (ridge: none when its file cannot be had, ceiled null) | stored
    # (an error then) | compute (from the data with the metric) | none | a number
    ceiling: Any = "brainscore"


@dataclass
class BlankConfig(StoreDatasetConfig):
    order: str = "stored"                # stored (Brain-Score's fragment order) | chronological
    # brainscore: the ceiling of Brain-Score's benchmark for the metric (linear: the stored 0.21026591; ridge:
    # computed with the ridge metric, as Blank2014-ridge) | stored | compute | a number
    ceiling: Any = "brainscore"
    ridge_splits: int = 8


@dataclass
class TuckuteConfig(StoreDatasetConfig):
    ridge_group_by: Optional[str] = None  # Tuckute2024-ridge keeps Brain-Score's default CV: ShuffleSplit 10 x 0.9
    ridge_random_state: int = 1


@dataclass
class FedorenkoConfig(StoreDatasetConfig):
    ceiling_fit: str = "curve_fit"       # curve_fit (Brain-Score's per-bootstrap fit) | vectorized (faster)
    ridge_group_by: str = "sentence_id"
    ridge_splits: int = 10


@dataclass
class SyntheticConfig(DatasetConfig):
    n_passages: int = 40
    sentences_per_passage: int = 5
    n_subjects: int = 4
    voxels_per_subject: int = 60
    noise: float = 1.0                   # noise sd relative to the signal sd
    planted_depth: float = 0.5           # which layer carries the signal, as a fraction of depth
    seed: int = 0
    ridge_splits: int = 8                # the group protocol: one fold per topic (`story`)


@dataclass
class SurprisalConfig:
    mode: str = "exact"                  # exact (Brain-Score's per-word re-run) | fast (strided windows)
    stride: int = 64                     # fast: new tokens scored per pass
    batch_size: int = 1                  # fast: windows per forward pass
    window: Optional[int] = None         # tokens of context; null: the model's own limit
    t5: str = "study"                    # encoder-decoders: study (leaks the word) | shifted
    pll: str = "original"                # encoders: original (Salazar et al. 2020) | word_l2r (Kauf & Ivanova 2023)


@dataclass
class FutrellConfig(DatasetConfig):
    source: str = "auto"                 # auto (path if set, else Brain-Score's store) | brainscore | naturalstories
    path: Optional[str] = None           # assy_Futrell2018.nc, a release folder, or all_stories.tok
    word_means: Optional[str] = None     # with path=all_stories.tok: processed_wordinfo.tsv
    subject_rts: Optional[str] = None    # with path=all_stories.tok: processed_RTs.tsv
    url: Optional[str] = None            # null: Brain-Score's assy_Futrell2018.nc (brainalign/datasets/futrell.py)
    sha1: Optional[str] = None
    release_url: Optional[str] = None    # base URL of naturalstories_RTS/ (default: the pinned commit)
    cache_dir: str = "${paths.data}"
    stories: Optional[List[int]] = None  # e.g. [1, 2]: a subset (marked as such)
    max_words: Optional[int] = None
    surprisal: SurprisalConfig = field(default_factory=SurprisalConfig)
    ceiling: str = "auto"                # auto | split_half | stored
    ceiling_splits: int = 10
    stored_ceiling: float = 0.858


@dataclass
class WehbePipelineConfig:
    variant: str = "code"                # code (the authors' code) | text (the paper's description)
    folds: Optional[str] = None          # contiguous | runs; null: the variant's
    boundary_trim: Optional[int] = None
    test_end_trim: Optional[int] = None
    word_split: Optional[str] = None     # code | exact
    pca_fit: str = "train"               # train | all
    n_folds: int = 4
    n_components: int = 10
    delays: List[int] = field(default_factory=lambda: [1, 2, 3, 4])
    skip_words: int = 20
    alphas: List[float] = field(default_factory=lambda: [10.0 ** k for k in range(-6, 10)])
    inner_folds: int = 10
    r_over: str = "folds"                # folds | concatenated


@dataclass
class WehbeCeilingConfig:
    mode: str = "stored"                 # stored (the study's value) | compute
    value: float = 0.104
    variant: str = "blank"               # blank | pereira
    max_voxels: int = 100
    n_bootstraps: int = 100
    fit: str = "vectorized"              # vectorized | curve_fit


@dataclass
class WehbeConfig(DatasetConfig):
    path: Optional[str] = None           # folder with fMRI/ and HP_subj_roi_inds.npy
    words_path: Optional[str] = None     # stimuli_words.npy; default: in the release folder
    subjects: List[str] = field(default_factory=lambda: list("FHIJKLMN"))
    roi: Optional[str] = "all"
    max_voxels: Optional[int] = None     # per subject: a quick look only (marked as a subset)
    context_words: int = 20
    layers: Optional[List[str]] = None   # null: the model config's
    batch_size: int = 32
    pipeline: WehbePipelineConfig = field(default_factory=WehbePipelineConfig)
    ceiling: WehbeCeilingConfig = field(default_factory=WehbeCeilingConfig)


@dataclass
class SyntaxGymSurprisalConfig(SurprisalConfig):
    batch_size: int = 32                 # fast: sentences per forward pass (changes only float rounding)


@dataclass
class SyntaxGymConfig(DatasetConfig):
    path: Optional[str] = None           # a folder of suite JSON files; null: an installed brainscore_language's
    suites: Optional[List[str]] = None   # e.g. [number_prep, subordination]; null: the 31 suites of 2020
    max_items: Optional[int] = None      # the first N items of each suite (a subset)
    surprisal: SyntaxGymSurprisalConfig = field(default_factory=SyntaxGymSurprisalConfig)


@dataclass
class NWPDatasetConfig(DatasetConfig):
    path: Optional[str] = None           # wiki.test.raw, a folder holding it, or the hub's test parquet
    hub: List[str] = field(default_factory=lambda: ["wikitext", "wikitext-2-raw-v1"])
    split: str = "test"


# ---- tracking and analysis ---------------------------------------------------------------------
@dataclass
class TrackingConfig:
    mode: str = "offline"                # offline | online | disabled
    project: str = "brainalign"
    entity: Optional[str] = None
    group: Optional[str] = None
    tags: List[str] = field(default_factory=list)


@dataclass
class AnalysisConfig:
    out: Optional[str] = None            # null: beside the results (<results>/analysis)
    score: str = "raw"                   # raw | ceiled
    layer: str = "best"                  # best | study
    mixed: str = "refuse"                # refuse | group
    include: Optional[List[str]] = None
    exclude: List[str] = field(default_factory=list)
    properties: Optional[str] = None     # CSV/JSON overriding the configs' MMLU/BBH/NWP
    brain_datasets: Optional[List[str]] = None
    figures: bool = True
    tokens_per_step: Optional[float] = None  # trajectory figure: training tokens per step, over the results' own


@dataclass
class PlanConfig:
    """task=plan: the device the cost estimate is for (device= picks cpu or cuda; docs/speed.md)."""
    gpu_tflops: float = 989.0            # peak dense bf16 TFLOP/s of one GPU (H100 SXM: 989; A100: 312)
    gpu_mem_gb: float = 80.0
    cpu_gflops: float = 100.0            # sustained GFLOP/s of this machine's CPU cores
    cpu_mem_gb: Optional[float] = None   # null: this machine's RAM
    efficiency: float = 0.4              # fraction of the peak a forward pass reaches
    tokens_per_word: float = 1.3         # words -> tokens where only word counts are known


# ---- the whole run -----------------------------------------------------------------------------
@dataclass
class Config:
    model: ModelConfig = MISSING
    dataset: Any = MISSING
    metric: Any = MISSING
    tracking: TrackingConfig = MISSING
    paths: PathsConfig = MISSING
    finetune: Any = None
    task: str = "score"                  # score | analyze | finetune | plan
    force: bool = False                  # recompute even when result.json exists
    device: str = "auto"                 # auto (cuda when available) | cpu | cuda | cuda:N
    progress: bool = True
    sweep_fail: str = "error"            # a multirun with a failed job: error (exit 1 after the summary) | ignore
    results_dir: str = "${paths.results}"
    cache_dir: str = "${paths.cache}"
    results: str = "${results_dir}"      # task=analyze reads every result.json under this folder
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
