"""The model zoo (conf/model): every config composes, the study's 25 + 8 models with their pairs and
figures, and the tiny offline stand-ins load and name the layers their family's configs expect."""

import re
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from brainalign.config.presets import load_preset
from brainalign.config.schema import ModelConfig

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "conf" / "model"
FIXTURE = REPO / "tests" / "fixtures" / "paper_tables.csv"
KEYS = [f.name for f in fields(ModelConfig)]   # every model config has the schema's keys, in its order
T5 = ["t5-small", "flan-t5-small", "t5-base", "flan-t5-base", "flan-alpaca-base", "t5-large", "flan-t5-large",
      "flan-alpaca-large", "t5-xl", "flan-t5-xl", "flan-alpaca-xl", "flan-gpt4all-xl", "flan-sharegpt-xl",
      "flan-alpaca-gpt4-xl", "t5-xxl", "flan-t5-xxl", "flan-alpaca-xxl"]
LLAMA = ["llama-7b", "alpaca-7b", "vicuna-7b", "llama-13b", "vicuna-13b", "stable-vicuna-13b", "llama-33b", "vicuna-33b"]
STUDY = T5 + LLAMA
GPT2 = ["gpt2", "gpt2-alpaca", "gpt2-medium", "gpt2-medium-alpaca", "gpt2-large", "gpt2-large-alpaca", "gpt2-xl",
        "gpt2-xl-alpaca"]
TINY = ["tiny-gpt2", "tiny-llama", "tiny-t5"]


def load(name):
    return load_preset("model", name, resolve_paths=True)


@pytest.fixture(scope="module")
def zoo():
    return {f.stem: load_preset("model", f.stem, resolve_paths=True) for f in sorted(MODEL_DIR.glob("*.yaml"))}


@pytest.mark.slow  # every model config through Hydra: ~18 s
def test_every_model_config_composes_through_hydra(make_config):
    """Every model file composes into the app's typed config."""
    for f in sorted(MODEL_DIR.glob("*.yaml")):
        name = make_config(f"model={f.stem}").model.name
        assert name == f.stem or name.startswith(f.stem), name   # oasm-sigma<sigma>: one name per setting


def test_schema_names_and_types(zoo):
    for name, cfg in zoo.items():
        if name not in STUDY + GPT2 + TINY:   # the offline default, baselines, the encoder: not the study's zoo
            continue
        assert list(cfg.keys()) == KEYS, name
        assert cfg.name == name
        assert cfg.family in ("t5", "llama", "gpt2") and cfg.arch in ("causal", "seq2seq")
        assert (cfg.arch == "seq2seq") == (cfg.family == "t5"), name
        assert isinstance(cfg.params, float) and cfg.params > 0 and isinstance(cfg.n_layers, int)
        assert cfg.dtype in ("float32", "bfloat16") and cfg.load_in_8bit is False
        assert set(cfg.resources) == {"gpus", "mem_gb", "time_min"}
        assert set(cfg.properties) == {"mmlu", "bbh", "nwp"}
        assert "blocks" in cfg.layers and "embedding" in cfg.layers
        assert ("post_attention_layernorm" in cfg.layers) == (cfg.family == "llama"), name
        assert cfg.hf_id or cfg.path, name
        OmegaConf.resolve(OmegaConf.create(OmegaConf.to_container(cfg)))   # interpolations resolve


def test_counts_pairs_and_families(zoo):
    assert all(n in zoo for n in STUDY + GPT2 + TINY)
    study = {n: zoo[n] for n in STUDY}
    assert sum(not c.instruction_tuned for c in study.values()) == 8
    assert sum(bool(c.instruction_tuned) for c in study.values()) == 17
    assert sum(c.family == "t5" for c in study.values()) == 17 and sum(c.family == "llama" for c in study.values()) == 8
    assert sum(bool(zoo[n].instruction_tuned) for n in GPT2) == 4
    for name in STUDY + GPT2:
        cfg = zoo[name]
        if cfg.instruction_tuned:
            pair = zoo[cfg.pair]
            assert not pair.instruction_tuned and pair.pair is None, name
            assert pair.family == cfg.family and pair.params == cfg.params and pair.n_layers == cfg.n_layers, name
            assert cfg.tuning
        else:
            assert cfg.pair is None and cfg.tuning is None
    # every vanilla model of the study has at least one instruction-tuned partner
    assert {zoo[n].pair for n in STUDY + GPT2 if zoo[n].instruction_tuned} == {n for n in STUDY + GPT2 if not zoo[n].instruction_tuned}


def test_the_papers_table(zoo):
    """Ids, sizes, layer counts and committed layers as paper.md section 1 gives them."""
    assert zoo["t5-xl"].hf_id == "google/t5-v1_1-xl" and zoo["flan-t5-xxl"].hf_id == "google/flan-t5-xxl"
    assert zoo["llama-33b"].hf_id == "huggyllama/llama-30b" and zoo["llama-33b"].params == 33e9
    assert zoo["alpaca-7b"].hf_id == "chavinlo/alpaca-native"
    assert zoo["vicuna-13b"].hf_id == "lmsys/vicuna-13b-v1.3"
    assert zoo["flan-gpt4all-xl"].hf_id == "declare-lab/flan-gpt4all-xl"
    assert zoo["gpt2-medium-alpaca"].hf_id == "linkanjarad/GPT2-Medium-Alpaca-355m"
    sizes = {"small": (77e6, 16), "base": (250e6, 24), "large": (800e6, 48), "xl": (3e9, 48), "xxl": (11e9, 48)}
    for name in T5:
        assert (zoo[name].params, zoo[name].n_layers) == sizes[name.split("-")[-1]], name
    for name in LLAMA:
        size = name.split("-")[-1]
        assert (zoo[name].params, zoo[name].n_layers) == {"7b": (7e9, 32), "13b": (13e9, 40), "33b": (33e9, 60)}[size]
    assert zoo["flan-t5-small"].study_layer == "encoder.block.7" and zoo["t5-xxl"].study_layer == "decoder.block.0"
    assert zoo["vicuna-33b"].study_layer == "model.layers.52.post_attention_layernorm"
    assert zoo["stable-vicuna-13b"].study_layer is None and zoo["stable-vicuna-13b"].hf_id is None
    assert zoo["stable-vicuna-13b"].pair == "llama-13b"
    for name, cfg in zoo.items():
        layer = cfg.study_layer
        if layer is None:
            continue
        m = re.fullmatch(r"(encoder|decoder)\.block\.(\d+)|model\.layers\.(\d+)\.post_attention_layernorm|transformer\.h\.(\d+)", layer)
        assert m, (name, layer)
        index = int(next(g for g in m.groups()[1:] if g is not None))
        per_stack = cfg.n_layers // 2 if cfg.family == "t5" else cfg.n_layers
        assert index < per_stack, (name, layer)


def test_properties_are_the_papers_table_7(zoo):
    tables = pd.read_csv(FIXTURE, comment="#").set_index("model")
    for name in STUDY + GPT2:
        props = zoo[name].properties
        for key in ("mmlu", "bbh", "nwp"):
            given = tables.loc[name, key]
            if pd.isna(given):
                assert props[key] is None, (name, key)
            else:
                assert props[key] == pytest.approx(given), (name, key)
    assert all(zoo[n].properties.mmlu is not None for n in STUDY if zoo[n].instruction_tuned)


def test_large_models_use_bf16_and_device_map(zoo):
    for name in STUDY + GPT2:
        cfg = zoo[name]
        assert (cfg.dtype == "bfloat16") == (cfg.params >= 7e9), name
        if cfg.params >= 3e9:
            assert cfg.device_map == "auto", name
    assert zoo["llama-33b"].resources.gpus == 2


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
def test_tiny_stand_in_loads_with_the_familys_layers(family, tiny_models, zoo, tmp_path, monkeypatch):
    from brainalign.models import load_model
    from brainalign.models.layers import resolve_layers

    (tmp_path / family).symlink_to(tiny_models[family])   # the layout tiny_cli writes: <BRAINALIGN_TINY>/<family>
    monkeypatch.setenv("BRAINALIGN_TINY", str(tmp_path))
    cfg = load(f"tiny-{family}")
    OmegaConf.resolve(cfg)
    assert cfg.path == f"{tmp_path}/{family}"
    lm = load_model(cfg)
    names = resolve_layers(lm.model, list(cfg.layers))
    assert cfg.study_layer in names
    pattern = {"gpt2": r"transformer\.h\.\d+", "llama": r"model\.layers\.\d+(\.post_attention_layernorm)?",
               "t5": r"(encoder|decoder)\.block\.\d+"}[family]
    blocks = [n for n in names if re.fullmatch(pattern, n)]
    assert len(blocks) == (cfg.n_layers * 2 if family == "llama" else cfg.n_layers)
    if family == "llama":
        assert "model.layers.1.post_attention_layernorm" in names
    if family == "t5":
        assert {"encoder.embedding", "decoder.embedding", "encoder.block.1", "decoder.block.1"} <= set(names)
    else:
        assert "embedding" in names
    # the same selectors name every real model's committed layer pattern
    for name, real in ((n, zoo[n]) for n in STUDY + GPT2):
        if real.family == family and real.study_layer:
            tiny_version = re.sub(r"\.(\d+)", ".1", real.study_layer, count=1)
            assert tiny_version in names, (name, real.study_layer)
    assert lm.is_encoder_decoder == (family == "t5")


def test_tiny_cli_builds_all_families(tmp_path, capsys):
    from brainalign.models.tiny_cli import main

    main(["--out", str(tmp_path), "--families", "gpt2"])
    assert (tmp_path / "gpt2" / "config.json").exists()
    assert "BRAINALIGN_TINY" in capsys.readouterr().out


def test_delta_rebuilds_the_target(tiny_models, tmp_path):
    """base + (target - base) = target, with one token added by the tuned model (StableVicuna's case)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brainalign.models.delta import apply_delta

    base = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    tok = AutoTokenizer.from_pretrained(tiny_models["llama"])
    tok.add_special_tokens({"pad_token": "[PAD]"})
    target = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    target.resize_token_embeddings(len(tok))
    torch.manual_seed(1)
    with torch.no_grad():
        for p in target.parameters():
            p.add_(0.01 * torch.randn_like(p))
    padded = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    padded.resize_token_embeddings(len(tok))
    with torch.no_grad():
        padded.get_input_embeddings().weight[-1] = 0
    delta = AutoModelForCausalLM.from_pretrained(tiny_models["llama"])
    delta.resize_token_embeddings(len(tok))
    with torch.no_grad():
        for (name, d), t, b in zip(delta.state_dict().items(), target.state_dict().values(), padded.state_dict().values()):
            d.copy_(t - b)
    delta.save_pretrained(tmp_path / "delta")
    tok.save_pretrained(tmp_path / "delta")
    out = apply_delta(str(tiny_models["llama"]), str(tmp_path / "delta"), tmp_path / "merged", dtype="float32")
    merged = AutoModelForCausalLM.from_pretrained(out)
    for (name, m), t in zip(merged.state_dict().items(), target.state_dict().values()):
        assert torch.allclose(m, t, atol=1e-6), name
    assert len(AutoTokenizer.from_pretrained(out)) == len(tok)
    assert base.get_input_embeddings().weight.shape[0] == len(tok) - 1
