"""The Trainer set-up: model (full, LoRA or QLoRA), TrainingArguments from the config, checkpoints, resume."""

import dataclasses
import json
import logging
import math
import os
import shutil
from pathlib import Path

from brainalign.errors import ConfigError
from finetune import checks
from brainalign.plumbing.io import write_text

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"
DONE = "train_done.json"


# ---------------------------------------------------------------------------------------------
# Checkpoints on disk


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete Trainer checkpoints, oldest first. The Trainer writes trainer_state.json last, so a
    folder without it was cut off mid-save and is ignored."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("checkpoint-")
             and p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def last_checkpoint(run_dir: Path) -> Path | None:
    found = checkpoint_dirs(run_dir)
    return found[-1] if found else None


# ---------------------------------------------------------------------------------------------
# Model


def load_model(model_cfg, ft, source: dict):
    """The model to train: plain weights (full), or with a LoRA adapter on (quantised) frozen weights."""
    import torch
    from transformers import AutoModelForCausalLM, set_seed

    set_seed(int(ft.train.seed))  # the LoRA adapter's random init depends on it
    kwargs = {"gguf_file": source["gguf_file"]} if source["gguf_file"] else {}
    if source["hub"] and model_cfg.get("revision"):
        kwargs["revision"] = model_cfg.revision
    if ft.mode == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=str(ft.qlora.quant_type),
            bnb_4bit_use_double_quant=bool(ft.qlora.double_quant),
            bnb_4bit_compute_dtype=getattr(torch, str(ft.qlora.compute_dtype)))
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(source["path"] or source["hub"],
                                                 dtype=getattr(torch, checks.load_dtype(ft)), **kwargs)
    model.config.use_cache = False
    if ft.mode == "full":
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if ft.mode == "qlora":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=bool(ft.train.gradient_checkpointing))
    elif ft.train.gradient_checkpointing:
        model.enable_input_require_grads()
    lora = LoraConfig(r=int(ft.lora.r), lora_alpha=int(ft.lora.alpha), lora_dropout=float(ft.lora.dropout),
                      target_modules=list(ft.lora.target_modules), bias=str(ft.lora.bias), task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def trainable_parameters(model) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Arguments


def steps_per_epoch(n_examples: int, per_device: int, processes: int, accumulation: int) -> int:
    """The Trainer's count: batches per process per epoch, then optimizer steps."""
    batches = math.ceil(n_examples / (per_device * processes))
    return max(batches // accumulation + int(batches % accumulation > 0), 1)


def save_interval(ft, per_epoch: int) -> int:
    ck = ft.checkpoints
    if ck.get("every_steps"):
        return int(ck.every_steps)
    if not ck.get("every_epochs") or float(ck.every_epochs) <= 0:
        raise ConfigError("set finetune.checkpoints.every_epochs (> 0) or finetune.checkpoints.every_steps")
    return max(1, round(per_epoch * float(ck.every_epochs)))


def tf32_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.get_device_capability(0)[0] >= 8


def training_arguments(ft, run_dir: Path, n_examples: int, report_to: list[str], run_name: str):
    from omegaconf import OmegaConf
    from transformers import TrainingArguments

    processes = checks.world_size()
    accumulation = checks.check_batch(ft, processes)
    per_epoch = steps_per_epoch(n_examples, int(ft.train.per_device_batch_size), processes, accumulation)
    tr = ft.train
    lr = float(ft.lora.learning_rate) if ft.mode in ("lora", "qlora") else float(tr.learning_rate)
    kwargs = dict(
        output_dir=str(Path(run_dir) / CHECKPOINTS),
        num_train_epochs=float(tr.epochs),
        learning_rate=lr,
        per_device_train_batch_size=int(tr.per_device_batch_size),
        gradient_accumulation_steps=accumulation,
        lr_scheduler_type=str(tr.lr_scheduler),
        weight_decay=float(tr.weight_decay),
        optim=str(tr.optim),
        adam_beta1=float(tr.adam_beta1), adam_beta2=float(tr.adam_beta2), adam_epsilon=float(tr.adam_epsilon),
        max_grad_norm=float(tr.max_grad_norm),
        bf16=tr.precision == "bf16",
        fp16=tr.precision == "fp16",
        use_cpu=not checks.cuda_available(),
        seed=int(tr.seed),
        logging_steps=int(tr.logging_steps),
        logging_first_step=True,
        save_strategy="steps",
        save_steps=save_interval(ft, per_epoch),
        save_total_limit=ft.checkpoints.get("save_total_limit"),
        dataloader_num_workers=int(tr.dataloader_num_workers),
        report_to=report_to,
        run_name=run_name,
        remove_unused_columns=False,
    )
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    # transformers 5 takes the warmup fraction as warmup_steps < 1; 4.x has warmup_ratio
    kwargs["warmup_ratio" if "warmup_ratio" in fields else "warmup_steps"] = float(tr.warmup_ratio)
    if tr.gradient_checkpointing:  # renamed activation_checkpointing in transformers 5
        kwargs["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = True
    if tr.get("tf32") and tf32_available():
        kwargs["tf32"] = True
    if tr.get("fsdp"):
        kwargs["fsdp"] = str(tr.fsdp)
        kwargs["fsdp_config"] = OmegaConf.to_container(tr.fsdp_config, resolve=True) if tr.get("fsdp_config") else None
    if tr.get("deepspeed"):
        kwargs["deepspeed"] = OmegaConf.to_container(tr.deepspeed, resolve=True) \
            if not isinstance(tr.deepspeed, str) else str(tr.deepspeed)
    extra = OmegaConf.to_container(tr.extra, resolve=True) if tr.get("extra") else {}
    kwargs.update(extra)
    try:
        args = TrainingArguments(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid training arguments (finetune.train): {e}") from None
    return args, {"steps_per_epoch": per_epoch, "gradient_accumulation_steps": accumulation,
                  "save_steps": kwargs["save_steps"], "processes": processes, "learning_rate": lr}


# ---------------------------------------------------------------------------------------------
# Callbacks


def _callbacks(ft, on_checkpoint):
    from transformers import TrainerCallback

    class SaveLastStep(TrainerCallback):
        """The last step is a checkpoint too, whatever the interval: it is the end of the curve."""

        def on_step_end(self, args, state, control, **kw):
            if state.global_step >= state.max_steps:
                control.should_save = True

    class PruneOptimizerState(TrainerCallback):
        """Only the newest checkpoint is resumed from; older ones keep just what scoring needs."""

        def on_save(self, args, state, control, **kw):
            if not state.is_world_process_zero:
                return
            for ckpt in checkpoint_dirs(Path(args.output_dir).parent)[:-1]:
                for p in ckpt.iterdir():
                    if p.name.startswith(("optimizer", "scheduler", "scaler", "rng_state")):
                        shutil.rmtree(p) if p.is_dir() else p.unlink()

    class ScoreOnSave(TrainerCallback):
        def on_save(self, args, state, control, **kw):
            if state.is_world_process_zero:
                on_checkpoint(Path(args.output_dir) / f"checkpoint-{state.global_step}")

    out = [SaveLastStep()]
    if ft.checkpoints.get("prune_optimizer_state", True):
        out.append(PruneOptimizerState())
    if on_checkpoint is not None:
        out.append(ScoreOnSave())
    return out


def extra_callbacks() -> list:
    """Hook for tests and extensions: more TrainerCallbacks to add to every run."""
    return []


# ---------------------------------------------------------------------------------------------
# Training


def train(model_cfg, ft, source: dict, tokenizer, dataset, collator, run_dir: Path, report_to: list[str],
          run_name: str, on_checkpoint=None) -> dict:
    """Train (or continue training) into run_dir/checkpoints; returns the summary also kept in train_done.json."""
    from transformers import Trainer

    run_dir = Path(run_dir)
    done = run_dir / DONE
    if done.exists():
        log.info("training already finished (%s)", done)
        return json.loads(done.read_text())
    args, plan = training_arguments(ft, run_dir, len(dataset), report_to, run_name)
    resume = last_checkpoint(run_dir)
    if resume is not None and not ft.get("resume", True):
        raise ConfigError(f"{run_dir} already holds checkpoints and finetune.resume=false; "
                          "choose another finetune.run_dir or delete that folder")
    model = load_model(model_cfg, ft, source)
    trainable, total = trainable_parameters(model)
    log.info("training %s (%s): %d of %d parameters trainable; %s", model_cfg.get("name"), ft.mode,
             trainable, total, plan)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                      processing_class=tokenizer,
                      callbacks=_callbacks(ft, on_checkpoint) + extra_callbacks())
    if resume is not None:
        log.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    summary = {"global_step": trainer.state.global_step, "epoch": trainer.state.epoch,
               "train_loss": result.training_loss, "resumed_from": str(resume) if resume else None,
               "trainable_parameters": trainable, "parameters": total, **plan,
               "log_history": trainer.state.log_history}
    if trainer.is_world_process_zero():
        write_text(done, json.dumps(summary, indent=1, default=str))
    del trainer, model
    _free_memory()
    return summary


def _free_memory():
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
