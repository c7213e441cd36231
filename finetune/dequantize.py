"""GGUF weights -> a folder of plain float32 weights that transformers can fine-tune.

transformers reads a GGUF file by dequantising it, but marks the model as GGUF-quantised, and its
Trainer refuses to train such a model in any mode. Write plain weights once:

    python -m finetune.dequantize smollm2-135m /data/smollm2-135m-f32

then fine-tune with `model=smollm2-135m model.path=/data/smollm2-135m-f32 model.gguf=null`.
"""

import sys
from pathlib import Path

from brainalign.errors import BrainalignError, ConfigError



def dequantize(model_cfg, out: Path) -> Path:
    """Load the model's GGUF file, drop the GGUF marking, save weights + tokenizer into `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brainalign.models.load import model_source

    src = model_source(model_cfg)
    if not src["gguf_file"]:
        raise ConfigError(f"model {model_cfg.get('name')!r} is not read from a GGUF file; nothing to dequantize")
    kwargs = {"gguf_file": src["gguf_file"]}
    gguf_model = AutoModelForCausalLM.from_pretrained(src["path"], dtype=torch.float32, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(src["path"], **kwargs)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict(), strict=True)
    out = Path(out)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m finetune.dequantize MODEL_CONFIG_NAME OUT_FOLDER", file=sys.stderr)
        return 2
    name, out = args
    from brainalign.config.presets import load_preset

    try:
        print(dequantize(load_preset("model", name, resolve_paths=True), Path(out)))
    except BrainalignError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
