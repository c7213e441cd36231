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


def shared_dir() -> Path:
    """paths.shared (BRAINALIGN_SHARED, default ../shared), a relative path taken from the repository root."""
    from brainalign.config import CONF_DIR

    shared = path("shared")
    return shared if shared.is_absolute() else (CONF_DIR.parent / shared).resolve()
