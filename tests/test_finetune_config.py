"""The `finetune` config group composes with Hydra: paper defaults, LLaMA-7B by default, arms differ only in format."""

import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import compose_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def conf_dir(tmp_path) -> Path:
    """A primary config shaped like the app's (a `model` group and an empty `finetune` slot) around the
    real conf/finetune group, so the group is tested whatever state conf/config.yaml is in."""
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf" / "finetune", conf / "finetune")
    (conf / "model").mkdir()
    zoo = REPO / "conf" / "model" / "llama-7b.yaml"
    if zoo.exists():
        shutil.copy(zoo, conf / "model" / "llama-7b.yaml")
    else:
        (conf / "model" / "llama-7b.yaml").write_text("name: llama-7b\nhf_id: huggyllama/llama-7b\n")
    (conf / "model" / "tiny-llama.yaml").write_text("name: tiny-llama\npath: /nowhere\n")
    (conf / "config.yaml").write_text("defaults:\n  - model: tiny-llama\n  - finetune: null\n  - _self_\n"
                                      "task: score\n")
    return conf


def _compose(conf_dir, overrides):
    return compose_config(*overrides, conf_dir=conf_dir)


def test_instruction_arm_defaults_to_llama7b_with_stanford_settings(conf_dir):
    cfg = _compose(conf_dir, ["task=finetune", "finetune=alpaca_instruction"])
    ft = cfg.finetune
    assert cfg.model.name == "llama-7b"
    assert ft.arm == "instruction" and ft.mode == "full"
    tr = ft.train
    assert (tr.epochs, tr.learning_rate, tr.effective_batch_size, tr.lr_scheduler, tr.warmup_ratio) == \
        (3, 2e-5, 128, "cosine", 0.03)
    assert (tr.precision, tr.weight_decay, tr.optim, ft.data.max_length) == ("bf16", 0.0, "adamw_torch", 512)
    assert tr.per_device_batch_size == 4 and tr.fsdp_config.transformer_layer_cls_to_wrap == ["LlamaDecoderLayer"]
    assert ft.data.hub_id == "tatsu-lab/alpaca"
    assert ft.run_dir == "outputs/finetune/llama-7b/full/instruction"


def test_model_and_any_setting_can_be_overridden(conf_dir):
    cfg = _compose(conf_dir, ["finetune=alpaca_no_instruction", "model=tiny-llama", "finetune.mode=lora",
                              "finetune.checkpoints.every_steps=50", "finetune.lora.r=16"])
    assert cfg.model.name == "tiny-llama"
    assert cfg.finetune.run_dir == "outputs/finetune/tiny-llama/lora/no_instruction"
    assert cfg.finetune.checkpoints.every_steps == 50 and cfg.finetune.lora.r == 16


def test_the_arms_differ_only_in_name_and_prompt_format(conf_dir):
    a = OmegaConf.to_container(_compose(conf_dir, ["finetune=alpaca_instruction"]).finetune)
    b = OmegaConf.to_container(_compose(conf_dir, ["finetune=alpaca_no_instruction"]).finetune)
    assert {k for k in a if a[k] != b[k]} == {"name", "arm", "format"}


def test_the_app_composes_the_finetune_task():
    cfg = compose_config("task=finetune", "finetune=alpaca_instruction", "results_dir=/r")
    assert cfg.task == "finetune" and cfg.finetune.arm == "instruction"
    assert cfg.model.name == "llama-7b"
    assert cfg.finetune.run_dir == f"/r/finetune/{cfg.model.name}/full/instruction"


def test_the_documented_command_composes():
    cfg = compose_config("task=finetune", "finetune=alpaca_no_instruction")
    assert cfg.finetune.arm == "no_instruction"
