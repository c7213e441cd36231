"""Apply a weight delta to a base model: how StableVicuna-13B is built from LLaMA-13B.

CarperAI released StableVicuna only as `CarperAI/stable-vicuna-13b-delta` (target - base, LLaMA's
license forbids the full weights). Rebuild it once where you have both:

    python -m brainalign.models.delta --base huggyllama/llama-13b \
        --delta CarperAI/stable-vicuna-13b-delta --out ~/.cache/brainalign/models/stable-vicuna-13b

then `model=stable-vicuna-13b` finds it (conf/model/stable-vicuna-13b.yaml; BRAINALIGN_MODELS moves the
parent folder). Needs about 2 x 26 GB of CPU memory (both models in float16). Each tensor of the result
is base + delta, added in float32; a delta with a larger vocabulary (added special tokens) gets the
base's embeddings padded with zero rows first, as CarperAI's apply_delta script does. The delta's
tokenizer is saved with the result.
"""

import argparse
import json
import os
from pathlib import Path
from brainalign.plumbing.io import write_text


def apply_delta(base: str, delta: str, out, dtype: str = "float16") -> Path:
    """Write base + delta (a causal LM) into `out` and return it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    out = Path(os.path.expanduser(str(out)))
    base_model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype, low_cpu_mem_usage=True)
    delta_model = AutoModelForCausalLM.from_pretrained(delta, dtype=torch_dtype, low_cpu_mem_usage=True)
    tokenizer = AutoTokenizer.from_pretrained(delta)
    n_base = base_model.get_input_embeddings().weight.shape[0]
    n_delta = delta_model.get_input_embeddings().weight.shape[0]
    if n_delta < n_base:
        raise ValueError(f"the delta has a smaller vocabulary ({n_delta}) than the base ({n_base})")
    if n_delta > n_base:
        base_model.resize_token_embeddings(n_delta)
        with torch.no_grad():
            base_model.get_input_embeddings().weight[n_base:] = 0
            if base_model.get_output_embeddings() is not None:
                base_model.get_output_embeddings().weight[n_base:] = 0
    delta_state = delta_model.state_dict()
    done = set()   # tied weights (embedding = output layer) share storage: add their delta once
    with torch.no_grad():
        for name, param in base_model.state_dict().items():
            if name not in delta_state:
                raise ValueError(f"the delta has no tensor {name!r}; is it a delta of this base?")
            if param.data_ptr() in done:
                continue
            d = delta_state[name]
            if d.shape != param.shape:
                raise ValueError(f"{name}: base {tuple(param.shape)} vs delta {tuple(d.shape)}")
            param.copy_((param.float() + d.float()).to(param.dtype))
            done.add(param.data_ptr())
    out.mkdir(parents=True, exist_ok=True)
    base_model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_text(out / "brainalign_delta.json", json.dumps({"base": base, "delta": delta, "dtype": dtype}, indent=2))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m brainalign.models.delta", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="hub id or folder of the base model (LLaMA-13B in HF format)")
    p.add_argument("--delta", required=True, help="hub id or folder of the delta")
    p.add_argument("--out", required=True, help="folder to write the merged model into")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16", "float32"))
    a = p.parse_args(argv)
    print(f"wrote {apply_delta(a.base, a.delta, a.out, a.dtype)}")


if __name__ == "__main__":
    main()
