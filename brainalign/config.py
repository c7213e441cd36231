"""Config helpers shared by main.py and the tests (Hydra resolvers, environment defaults)."""

import os

from omegaconf import OmegaConf


def run_subdir(task: str, model: str, dataset: str, metric: str, finetune: str | None = None) -> str:
    """The output folder of a job, deterministic so that a repeated sweep finds its finished runs."""
    if task == "score":
        return f"{model}/{dataset}/{metric}"
    if task == "finetune":
        return f"finetune/{finetune}/{model}"
    return task


def cv_label(metric: str, native: str, cv) -> str:
    """The metric's name with its protocols when they are not its own: linear, linear-group, linear-shuffle+group."""
    names = [str(cv)] if isinstance(cv, str) else [str(c) for c in cv]
    return metric if names == [native] else f"{metric}-{'+'.join(names)}"


def tag(base: str, value, default, prefix: str = "") -> str:
    """base, or base-<prefix><value> when value is not the default (e.g. smollm2-135m-chat-user)."""
    return base if str(value) == str(default) else f"{base}-{prefix}{value}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("run_subdir"):
        OmegaConf.register_new_resolver("run_subdir", run_subdir)
    if not OmegaConf.has_resolver("cv_label"):
        OmegaConf.register_new_resolver("cv_label", cv_label)
    if not OmegaConf.has_resolver("tag"):
        OmegaConf.register_new_resolver("tag", tag)


def quiet_libraries() -> None:
    """Library defaults for a batch tool: no telemetry, no hub pings when offline."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("WANDB_SILENT", "true")
