"""Checks run when a job starts, before any work: the metric a dataset can take, the device, choices
and ranges of values, names that become folders. Each failure is one ConfigError naming the key."""

import os

from omegaconf import DictConfig, OmegaConf, open_dict

from brainalign.config.presets import load_preset
from brainalign.config.select import select_metric
from brainalign.errors import ConfigError

# key -> allowed values
CHOICES = {
    "task": ("score", "analyze", "finetune", "plan"),
    "sweep_fail": ("error", "ignore"),
    "model.padding_side": ("right", "left"),
    "model.arch": ("causal", "seq2seq", "encoder", "baseline"),
    "model.chat_template": ("none", "user"),
    "model.pooling": ("last", "mean"),
    "dataset.surprisal.pll": ("original", "word_l2r"),
    "model.dtype": ("float32", "bfloat16", "float16"),
    "model.init": ("pretrained", "random"),
    "tracking.mode": ("offline", "online", "disabled"),
    "metric.correlation": ("batched", "scipy"),
    "metric.backend": ("auto", "numpy", "torch"),
    "dataset.order": ("stored", "chronological"),
    "dataset.surprisal.mode": ("exact", "fast"),
    "dataset.surprisal.t5": ("study", "shifted"),
    "dataset.source": ("auto", "brainscore", "naturalstories"),
    "analysis.score": ("raw", "ceiled"),
    "analysis.layer": ("best", "study"),
    "analysis.mixed": ("refuse", "group"),
}
# key -> (low, high) inclusive, or (low, high, False) for an exclusive low; None = unbounded
RANGES = {
    "metric.n_splits": (2, None), "metric.train_size": (0.0, 1.0), "metric.batch_size": (1, None),
    "metric.context": (2, None), "metric.stride": (1, None), "metric.max_tokens": (1, None),
    "dataset.n_passages": (2, None), "dataset.sentences_per_passage": (1, None), "dataset.n_subjects": (1, None),
    "dataset.voxels_per_subject": (1, None), "dataset.noise": (0.0, None), "dataset.planted_depth": (0.0, 1.0),
    "dataset.ridge_splits": (2, None), "dataset.max_words": (1, None), "dataset.ceiling_splits": (1, None),
    "dataset.surprisal.stride": (1, None), "dataset.surprisal.batch_size": (1, None),
    "dataset.surprisal.window": (2, None), "dataset.context_words": (0, None), "dataset.batch_size": (1, None),
    "dataset.max_voxels": (1, None), "model.max_length": (2, None), "model.batch_size": (1, None),
    "model.localize": (0, None, False), "model.init_seed": (0, None),
}
# names that become a folder of the result path or the cache (<results_dir>/<model>/<dataset>/<metric>)
FOLDER_NAMES = ("model.name", "dataset.name", "metric.name", "finetune.name")


def _value(cfg, key):
    return OmegaConf.select(cfg, key, default=None)


def check_values(cfg) -> None:
    for key, allowed in CHOICES.items():
        value = _value(cfg, key)
        if value is not None and value not in allowed:
            raise ConfigError(f"{key}={value}: choose one of {', '.join(allowed)}")
    for key, (low, high, *inclusive) in RANGES.items():
        value = _value(cfg, key)
        if value is None or isinstance(value, (list, DictConfig)):
            continue
        strict = inclusive == [False]
        if (low is not None and (value <= low if strict else value < low)) or (high is not None and value > high):
            bound = f"{'>' if strict else '>='} {low}" if high is None else f"between {low} and {high}"
            raise ConfigError(f"{key}={value}: must be {bound}")


def check_folder_name(key: str, value) -> None:
    """A name that becomes one folder: not empty, no separator, not `.` or `..` (it would leave its folder)."""
    text = "" if value is None else str(value)
    if text.strip() in ("", ".", "..") or any(c in text for c in "/\\\0"):
        raise ConfigError(f"{key}={text!r}: it names a folder of the results and the cache; "
                          "use a plain name without '/', '\\' or '..'")


def check_results_dir(value) -> None:
    """results_dir: a folder that is not the file system's root (an empty value would put results under /)."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise ConfigError("results_dir is empty: results would go under /; give a folder (results_dir=outputs)")
    if os.path.abspath(os.path.expanduser(text)) == os.path.abspath(os.sep):
        raise ConfigError(f"results_dir={text}: the file system's root; give a folder (results_dir=outputs)")


def check_paths(cfg) -> None:
    """The results folder and every name that becomes a folder, before anything is written."""
    check_results_dir(_value(cfg, "results_dir"))
    if _value(cfg, "task") == "finetune" and _value(cfg, "finetune") is None:   # its folder: finetune/<arm>/<model>
        from brainalign.config import CONF_DIR

        arms = sorted(p.stem for p in (CONF_DIR / "finetune").glob("*.yaml") if not p.stem.startswith("_"))
        raise ConfigError(f"task=finetune needs an arm: finetune={' or finetune='.join(arms)}")
    for key in FOLDER_NAMES:
        if key != "finetune.name" or _value(cfg, "finetune") is not None:
            check_folder_name(key, _value(cfg, key))


def resolve_metric(cfg) -> None:
    """metric=auto / metric=study become the dataset's metric; an unsupported pair is refused."""
    from brainalign import registry

    spec = registry.benchmark(str(cfg.dataset.benchmark))
    name = select_metric(str(cfg.metric.name), str(cfg.metric.kind), spec, f"dataset={cfg.dataset.name}")
    if name != cfg.metric.name:
        with open_dict(cfg):
            cfg.metric = load_preset("metric", name)



def resolve_device(cfg) -> None:
    """device=auto becomes cuda when CUDA is available, else cpu; cuda without CUDA is refused."""
    device = str(cfg.get("device") or "auto")
    if device == "auto" or device.startswith("cuda"):
        import torch

        has_cuda = torch.cuda.is_available()
        if device == "auto":
            device = "cuda" if has_cuda else "cpu"
        elif not has_cuda:
            raise ConfigError(f"device={device}: CUDA is not available on this machine (torch {torch.__version__}); "
                              "use device=cpu or device=auto")
    elif device != "cpu":
        raise ConfigError(f"device={device}: choose auto, cpu, cuda or cuda:N")
    with open_dict(cfg):
        cfg.device = device


def check(cfg) -> None:
    """Everything a job checks before it loads data or weights."""
    check_paths(cfg)
    if cfg.get("task", "score") == "score":
        resolve_metric(cfg)
    check_values(cfg)
    if _value(cfg, "dataset.benchmark") is not None:
        from brainalign.datasets.perturb import perturbation_of

        perturbation_of(cfg.dataset)   # dataset.perturb: one the benchmark takes
    resolve_device(cfg)
