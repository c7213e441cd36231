"""Untrained models (`model.init=random`) and checkpoints (`model.revision`): what the weights are.

init=random builds the model from its architecture alone, with weights drawn by the architecture's
own initialiser under `model.init_seed`: from the zoo entry's `architecture:` block (AutoConfig.for_model
keywords, so no file is needed) or else from the config beside its weights. The tokenizer is still the
model's own; where it cannot be loaded, the run stops with one line saying so.

model.revision is a hub revision (Pythia's `step1000`), or, with `model.path`, a checkpoint folder
inside that folder (`<path>/<revision>`), so one sweep of revisions covers both.
"""

from pathlib import Path

from brainalign.errors import ConfigError, ModelUnavailable

def is_random(cfg) -> bool:
    return str(cfg.init) == "random"


def checkpoint_folder(cfg, path: Path) -> Path:
    """`<path>/<revision>` for a local model with model.revision; the path itself otherwise."""
    if not cfg.revision:
        return path
    folder = path / str(cfg.revision)
    if not folder.is_dir():
        have = sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
        raise ModelUnavailable(f"model.revision={cfg.revision}: no checkpoint folder {folder}"
                               + (f" (there: {', '.join(have[:12])})" if have else ""))
    return folder


def architecture_config(cfg, src: dict):
    """The transformers config of the architecture: the `architecture:` block, else the one beside the weights."""
    from transformers import AutoConfig

    if cfg.architecture:
        arch = {k: v for k, v in dict(cfg.architecture).items()}
        model_type = arch.pop("model_type", None)
        if not model_type:
            raise ConfigError(f"model {cfg.name!r}: its architecture block needs a model_type (e.g. llama, gpt2)")
        try:
            return AutoConfig.for_model(str(model_type), **arch)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"model {cfg.name!r}: architecture block: {str(e).splitlines()[0][:200]}") from None
    kwargs = _source_kwargs(cfg, src)
    where = src["hub"] or str(src["path"])
    try:
        return AutoConfig.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"model.init=random: no architecture for {cfg.name!r} (no `architecture:` block in "
                               f"its conf/model YAML, and no config readable from {where}: "
                               f"{type(e).__name__}: {str(e).splitlines()[0][:200]})") from None


def _source_kwargs(cfg, src: dict) -> dict:
    kwargs = {"revision": cfg.revision} if src["hub"] and cfg.revision else {}
    if src["gguf_file"]:
        kwargs["gguf_file"] = src["gguf_file"]
    return kwargs


def random_weights(cfg, src: dict, dtype):
    """(model with seeded random weights, the model's tokenizer) for model.init=random."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    config = architecture_config(cfg, src)
    where = src["hub"] or str(src["path"])
    def missing(why):
        return ModelUnavailable(f"model.init=random: {cfg.name!r} needs its tokenizer for text, and it cannot be "
                                f"loaded from {where} (offline?); fetch it where you have a connection and set "
                                f"model.path ({why})")

    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **_source_kwargs(cfg, src))
    except (OSError, ValueError) as e:
        raise missing(f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    specials = set(tokenizer.all_special_ids)
    if not [i for i in tokenizer("The cat sat.")["input_ids"] if i not in specials]:   # transformers builds an
        raise missing("no vocabulary there")                                             # empty one from a config
    if cfg.arch == "encoder":
        auto = AutoModel
    else:
        auto = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
    with torch.random.fork_rng(devices=[]):   # the seed decides the weights; the caller's RNG is left as it was
        torch.manual_seed(int(cfg.init_seed))
        model = auto.from_config(config, dtype=dtype)
    return model, tokenizer
