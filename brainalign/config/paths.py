"""The paths config outside a Hydra app: the same defaults and environment overrides as `paths=`."""

from pathlib import Path

from omegaconf import OmegaConf

from brainalign.config.schema import PathsConfig


def paths() -> dict:
    """{cache, data, results, tiny, models, shared, brainscore_python}: resolved, `~` expanded; None where unset."""
    resolved = OmegaConf.to_container(OmegaConf.structured(PathsConfig), resolve=True)
    return {k: (str(Path(v).expanduser()) if v else None) for k, v in resolved.items()}


def path(name: str) -> Path | None:
    value = paths()[name]
    return Path(value) if value else None
