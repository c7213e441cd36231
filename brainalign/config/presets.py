"""One config of conf/<group>/<name>.yaml, outside a Hydra app (scripts, tests, metric=auto):
its defaults list applied (schemas and parent configs) and `${paths.*}` resolved."""

from functools import lru_cache
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.config import schema
from brainalign.errors import ConfigError


@lru_cache(maxsize=None)
def _schema(group: str, kind: str):
    """The schema's node, built once (OmegaConf.merge copies it, never changes it)."""
    from brainalign import registry
    from brainalign.config import metric_schemas

    if group == "dataset":
        return OmegaConf.structured(registry.benchmark(kind).schema)
    table = {"model": {"model": schema.ModelConfig}, "tracking": {"tracking": schema.TrackingConfig},
             "paths": {"paths": schema.PathsConfig}, "metric": metric_schemas()}
    return OmegaConf.structured(table[group][kind])


def _load(group: str, name: str, conf_dir=None):
    from brainalign.config import CONF_DIR

    from brainalign.registry import plugin_conf_dirs

    dirs = [Path(conf_dir)] if conf_dir else [CONF_DIR, *map(Path, plugin_conf_dirs())]
    found = [d for d in dirs if (d / group / f"{name}.yaml").exists()]
    if not found:
        known = sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")})
        raise ConfigError(f"{group}={name}: no such config; choose one of: {', '.join(known)}")
    conf_dir = found[0]
    path = conf_dir / group / f"{name}.yaml"
    raw = OmegaConf.load(path)
    body = OmegaConf.masked_copy(raw, [k for k in raw if k != "defaults"])
    parts, self_seen = [], False
    for entry in raw.get("defaults", []):
        if entry == "_self_":
            parts.append(body)
            self_seen = True
        elif isinstance(entry, str):
            parts.append(_load(group, entry, conf_dir if (conf_dir / group / f"{entry}.yaml").exists() else None))
        else:
            (where, kind), = entry.items()
            if str(where).startswith("/schema/"):
                parts.append(_schema(group, kind))
            # other entries (`override /metric@...`) choose things for the whole app: not part of this node
    if not self_seen:
        parts.append(body)
    return OmegaConf.merge(*parts)


def model_file(path, resolve_paths: bool = False):
    """A model config file from any folder, on the ModelConfig schema (its defaults list ignored)."""
    raw = OmegaConf.load(path)
    node = OmegaConf.merge(_schema("model", "model"), OmegaConf.masked_copy(raw, [k for k in raw if k != "defaults"]))
    if not resolve_paths:
        return node
    root = OmegaConf.create({"paths": OmegaConf.structured(schema.PathsConfig), "model": node})
    return OmegaConf.create(OmegaConf.to_container(root, resolve=True)["model"])


def load_preset(group: str, name: str, resolve_paths: bool = False, conf_dir=None):
    """The typed node of conf/<group>/<name>.yaml; with resolve_paths, `${paths.*}` filled in."""
    node = _load(group, name, conf_dir)
    if not resolve_paths:
        return node
    root = OmegaConf.create({"paths": OmegaConf.structured(schema.PathsConfig), group: node})
    resolved = OmegaConf.to_container(root, resolve=True)[group]
    return OmegaConf.merge(_load(group, name, conf_dir), resolved)
