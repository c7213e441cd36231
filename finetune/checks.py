"""Before any training: does this model fit the chosen mode on this machine?

Everything here reads configs and counts parameters on the meta device; no weights are loaded.
Each failure is a ConfigError that says what to change.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from brainalign.errors import ConfigError, ModelUnavailable

MODES = ("full", "lora", "qlora")
PRECISIONS = ("bf16", "fp16", "fp32")
GIB = 1024 ** 3
# Bytes per parameter that must sit in device memory, activations not counted:
#   full: fp32 weights 4 + fp32 gradients 4 + AdamW moments 8 (mixed precision keeps fp32 master weights);
#   lora: the frozen base weights in their load dtype (the adapter is a rounding error);
#   qlora: 4-bit base weights, ~0.5 byte, plus quantisation constants.
QLORA_BYTES = 0.55


@dataclass
class ModelFacts:
    n_params: int
    module_names: list[str]
    linear_names: list[str]
    max_positions: int | None
    arch: str


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def cpu_has_native_bf16() -> bool:
    """bf16 arithmetic in hardware (AVX512-BF16 or AMX); elsewhere torch only emulates it, slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def model_facts(model_cfg, source: dict) -> ModelFacts:
    """Parameter count and module names of the model, built on the meta device from its config."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = {"gguf_file": source["gguf_file"]} if source["gguf_file"] else {}
    if source["hub"] and model_cfg.get("revision"):
        kwargs["revision"] = model_cfg.revision
    where = source["path"] or source["hub"]
    try:
        config = AutoConfig.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"cannot read the config of model {model_cfg.get('name')!r} from {where}: "
                               f"{str(e).splitlines()[0][:300]} (offline? set model.path=/local/folder)") from None
    if getattr(config, "is_encoder_decoder", False):
        raise ConfigError(f"model {model_cfg.get('name')!r} is an encoder-decoder ({config.model_type}); Alpaca "
                          "fine-tuning here trains causal LMs (prompt and response in one sequence)")
    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except ValueError as e:
        raise ConfigError(f"model {model_cfg.get('name')!r} ({config.model_type}) is not a causal LM: "
                          f"{str(e).splitlines()[0][:200]}") from None
    names = [n for n, _ in model.named_modules() if n]
    linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                     if isinstance(m, torch.nn.Linear) and n})
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    n_params = sum(p.numel() for p in model.parameters())
    return ModelFacts(n_params=n_params, module_names=names, linear_names=linear,
                      max_positions=int(positions) if positions else None, arch=config.model_type)


def _available_memory(ft) -> tuple[float, str]:
    """Bytes one device offers, and its name."""
    if ft.checks.get("memory_gib") is not None:
        return float(ft.checks.memory_gib) * GIB, "finetune.checks.memory_gib"
    if cuda_available():
        import torch

        return float(torch.cuda.get_device_properties(0).total_memory), torch.cuda.get_device_name(0)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024, "CPU RAM (available)"
    except OSError:
        pass
    return float("inf"), "CPU RAM (unknown)"


def sharded(ft) -> bool:
    return bool(ft.train.get("fsdp")) or bool(ft.train.get("deepspeed"))


def load_dtype(ft) -> str:
    """The dtype the trainable (full) or frozen (lora) weights are loaded in."""
    if ft.train.get("load_dtype"):
        return str(ft.train.load_dtype)
    if ft.mode == "full":
        return "float32"
    return {"bf16": "bfloat16", "fp16": "float16"}.get(str(ft.train.precision), "float32")


def memory_needed(n_params: int, ft) -> float:
    if ft.mode == "full":
        return 16.0 * n_params
    if ft.mode == "qlora":
        return QLORA_BYTES * n_params
    return {"float32": 4, "bfloat16": 2, "float16": 2}[load_dtype(ft)] * float(n_params)


def check_mode(ft, facts: ModelFacts, model_name: str) -> None:
    """Raise ConfigError when the model cannot be trained in `ft.mode` here."""
    if ft.mode not in MODES:
        raise ConfigError(f"finetune.mode={ft.mode!r}; choose one of {', '.join(MODES)}")
    precision = str(ft.train.precision)
    if precision not in PRECISIONS:
        raise ConfigError(f"finetune.train.precision={precision!r}; choose one of {', '.join(PRECISIONS)}")
    if ft.train.get("load_dtype") and str(ft.train.load_dtype) not in ("float32", "bfloat16", "float16"):
        raise ConfigError(f"finetune.train.load_dtype={ft.train.load_dtype!r}; choose float32, bfloat16 or float16")

    gpu = cuda_available()
    if precision == "bf16":
        if gpu:
            import torch

            if not torch.cuda.is_bf16_supported():
                raise ConfigError(f"finetune.train.precision=bf16 but {torch.cuda.get_device_name(0)} has no bf16; "
                                  "set finetune.train.precision=fp16")
        elif not cpu_has_native_bf16():
            raise ConfigError("finetune.train.precision=bf16 but there is no CUDA GPU and this CPU has no native "
                              "bf16 (avx512_bf16/amx_bf16); set finetune.train.precision=fp32")
    if precision == "fp16" and not gpu:
        raise ConfigError("finetune.train.precision=fp16 needs a CUDA GPU; set finetune.train.precision=fp32")

    if ft.mode == "qlora":
        if not gpu:
            raise ConfigError("finetune.mode=qlora quantises the base model with bitsandbytes, which needs a CUDA "
                              "GPU; use finetune.mode=lora (or full) here")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError("finetune.mode=qlora needs `pip install bitsandbytes`")

    if ft.mode in ("lora", "qlora"):
        targets = list(ft.lora.target_modules)
        if not targets:
            raise ConfigError("finetune.lora.target_modules is empty")
        missing = [t for t in targets
                   if not any(n == t or n.endswith("." + t) for n in facts.module_names)]
        if missing:
            raise ConfigError(f"finetune.lora.target_modules {missing} are not modules of {model_name} "
                              f"({facts.arch}); its linear layers are: {', '.join(facts.linear_names)}")

    max_length = int(ft.data.max_length)
    if facts.max_positions and max_length > facts.max_positions:
        raise ConfigError(f"finetune.data.max_length={max_length} exceeds the {facts.max_positions} positions of "
                          f"{model_name}; set finetune.data.max_length<={facts.max_positions}")

    if ft.checks.get("memory", True):
        need = memory_needed(facts.n_params, ft)
        per_device, where = _available_memory(ft)
        devices = world_size() if sharded(ft) else 1
        if need > per_device * devices:
            per = "x 16 bytes (fp32 weights, gradients and AdamW moments)" if ft.mode == "full" else \
                  f"in {load_dtype(ft) if ft.mode == 'lora' else '4 bit'}"
            raise ConfigError(
                f"{model_name} has {facts.n_params / 1e9:.2f}B parameters: finetune.mode={ft.mode} needs at least "
                f"{need / GIB:.1f} GiB ({per}, activations not counted), but {where} offers "
                f"{per_device / GIB:.1f} GiB" + (f" x {devices} sharded devices" if devices > 1 else "")
                + ". Use finetune.mode=lora or qlora, shard over more GPUs (finetune.train.fsdp), or set "
                "finetune.checks.memory=false if you offload")


def check_source(source: dict, model_name: str) -> None:
    """transformers marks a model read from GGUF as quantised, and its Trainer trains it in no mode."""
    if source.get("gguf_file"):
        raise ConfigError(f"model {model_name!r} is read from the GGUF file {source['gguf_file']}, which transformers "
                          "cannot fine-tune (full, LoRA or QLoRA). Write plain weights once with `python -m "
                          f"finetune.dequantize {model_name} /some/folder`, then add model.path=/some/folder model.gguf=null")


def check_tokenizer(tokenizer, model_name: str) -> None:
    if tokenizer.eos_token_id is None:
        raise ConfigError(f"the tokenizer of {model_name} has no EOS token; Alpaca training appends one to every response")


def check_batch(ft, n_processes: int) -> int:
    """Gradient accumulation steps that make the effective batch; refuses one that does not divide."""
    eff, per = int(ft.train.effective_batch_size), int(ft.train.per_device_batch_size)
    if eff <= 0 or per <= 0 or eff % (per * n_processes):
        raise ConfigError(f"finetune.train.effective_batch_size={eff} is not a multiple of per_device_batch_size={per} "
                          f"x {n_processes} process(es)")
    return eff // (per * n_processes)
