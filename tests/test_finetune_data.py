"""The two prompt formats and the masking are exactly what docs/finetune.md says."""

import builtins
import json
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from brainalign.errors import ConfigError, DataUnavailable
from finetune.data import (IGNORE_INDEX, Collator, PromptFormat, build_examples, encode, load_records)
from finetune.sample import SAMPLES, write_sample

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "finetune.md").read_text()
ARMS = {"instruction": "alpaca_instruction", "no_instruction": "alpaca_no_instruction"}


def fmt(arm: str) -> PromptFormat:
    return PromptFormat.from_cfg(OmegaConf.load(REPO / "conf" / "finetune" / f"{ARMS[arm]}.yaml").format)


def doc_blocks(tag: str) -> dict[str, str]:
    """Fenced blocks that follow `<!-- tag: name -->` in the docs, by name, exactly (no final newline)."""
    found = re.findall(rf"<!-- {tag}: ([^>]+?) -->\n```\w*\n(.*?)\n```", DOC, flags=re.S)
    return {name: body for name, body in found}


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_models["llama"])


def test_documented_prompts_are_what_the_configs_produce():
    samples = {k: json.loads(v) for k, v in doc_blocks("sample").items()}
    prompts = doc_blocks("prompt")
    assert set(samples) == {"with_input", "empty_input"}
    assert len(prompts) == 4
    for key, expected in prompts.items():
        arm, sample = key.split()
        assert fmt(arm).prompt(samples[sample]) == expected, key


def test_documented_yaml_templates_are_the_configs():
    blocks = re.findall(r"```yaml\n(prompt_input: .*?)\n```", DOC, flags=re.S)
    assert len(blocks) == 2
    for arm, block in zip(("instruction", "no_instruction"), blocks):
        assert OmegaConf.create(block) == OmegaConf.load(REPO / "conf" / "finetune" / f"{ARMS[arm]}.yaml").format


def test_instruction_arm_is_stanford_alpaca_verbatim():
    f = fmt("instruction")
    assert f.prompt_input == (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:")
    assert f.prompt_no_input == (
        "Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Response:")


def test_no_instruction_arm_removes_the_instruction_and_keeps_every_sample():
    f = fmt("no_instruction")
    for rec in SAMPLES:
        p = f.prompt(rec)
        assert rec["instruction"] not in p and "instruction" not in p.lower()
        assert p.endswith("### Response:")
        if rec["input"]:
            assert p == f"### Input:\n{rec['input']}\n\n### Response:"
        else:
            assert p == "### Response:"
    # the empty-input rule is Stanford's: only "" is empty; whitespace is an input
    assert f.prompt({"instruction": "x", "input": " ", "output": "y"}) == "### Input:\n \n\n### Response:"


def test_braces_in_the_data_are_not_templates():
    rec = {"instruction": "Use {input} literally", "input": "a {b} c", "output": "z"}
    assert "Use {input} literally" in fmt("instruction").prompt(rec)
    assert "a {b} c" in fmt("no_instruction").prompt(rec)


def test_masking_is_prompt_length_and_eos_is_appended(tokenizer):
    eos = tokenizer.eos_token_id
    for arm in ARMS:
        for rec in SAMPLES:
            prompt = fmt(arm).prompt(rec)
            ex, info = encode(rec, fmt(arm), tokenizer, max_length=256)
            prompt_ids = tokenizer(prompt)["input_ids"]
            full_ids = tokenizer(prompt + rec["output"])["input_ids"]
            assert not info["truncated"] and not info["boundary_merge"]
            assert ex.input_ids == full_ids + [eos]
            assert ex.input_ids[0] == tokenizer.bos_token_id          # the tokenizer's BOS, masked
            n = len(prompt_ids)
            assert ex.labels[:n] == [IGNORE_INDEX] * n
            assert ex.labels[n:] == ex.input_ids[n:]                   # output tokens and EOS
            assert IGNORE_INDEX not in ex.labels[n:] and ex.labels[-1] == eos
            assert tokenizer.decode(ex.labels[n:-1]) == rec["output"]  # exactly the output is learnt


def test_both_arms_learn_the_same_response_tokens(tokenizer):
    a, _ = build_examples(SAMPLES, fmt("instruction"), tokenizer, 256)
    b, sb = build_examples(SAMPLES, fmt("no_instruction"), tokenizer, 256)
    assert len(a) == len(b) == len(SAMPLES) and sb.dropped == 0
    for x, y in zip(a, b):
        assert [t for t in x.labels if t != IGNORE_INDEX] == [t for t in y.labels if t != IGNORE_INDEX]
        assert len(y.input_ids) < len(x.input_ids)  # only the conditioning is shorter


def test_stats_count_masked_and_response_tokens(tokenizer):
    examples, stats = build_examples(SAMPLES, fmt("instruction"), tokenizer, 256)
    assert stats.samples == 16 and stats.with_input == 8 and stats.empty_input == 8
    assert stats.tokens == sum(len(e.input_ids) for e in examples)
    assert stats.masked_tokens == sum(e.labels.count(IGNORE_INDEX) for e in examples)
    assert stats.response_tokens == stats.tokens - stats.masked_tokens
    expected = sum(len(tokenizer(r["output"], add_special_tokens=False)["input_ids"]) + 1 for r in SAMPLES)
    assert stats.response_tokens == expected


def test_truncation_cuts_on_the_right_and_drops_samples_without_response(tokenizer):
    rec = SAMPLES[7]  # the long summarisation sample
    f = fmt("instruction")
    n_prompt = len(tokenizer(f.prompt(rec))["input_ids"])
    ex, info = encode(rec, f, tokenizer, max_length=n_prompt + 3)
    assert info["truncated"] and len(ex.input_ids) == n_prompt + 3
    assert ex.labels.count(IGNORE_INDEX) == n_prompt and tokenizer.eos_token_id not in ex.input_ids[n_prompt:]
    ex, info = encode(rec, f, tokenizer, max_length=n_prompt)
    assert ex is None and info["truncated"]
    _, stats = build_examples([rec, SAMPLES[6]], f, tokenizer, max_length=n_prompt)
    assert stats.dropped == 1
    with pytest.raises(ConfigError, match="no sample keeps a response token"):
        build_examples([rec], f, tokenizer, max_length=n_prompt)


def test_collator_pads_right_and_masks_padding():
    batch = Collator(pad_id=2)([{"input_ids": [1, 5, 6], "labels": [-100, 5, 6]},
                                {"input_ids": [1, 7], "labels": [-100, 7]}])
    assert batch["input_ids"].tolist() == [[1, 5, 6], [1, 7, 2]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 5, 6], [-100, 7, -100]]


def data_cfg(path=None, **kw):
    return OmegaConf.create({"path": str(path) if path else None, "hub_id": "tatsu-lab/alpaca", "split": "train",
                             "revision": None, "limit": None, "max_length": 256, **kw})


def test_json_and_jsonl_files_load(tmp_path):
    assert load_records(data_cfg(write_sample(tmp_path / "a.json"))) == SAMPLES
    assert load_records(data_cfg(write_sample(tmp_path / "a.jsonl"), limit=3)) == SAMPLES[:3]


def test_missing_fields_are_named(tmp_path):
    bad = [dict(SAMPLES[0]), {"instruction": "x", "output": "y"}, {"instruction": "x", "input": "", "output": 3}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError) as e:
        load_records(data_cfg(path))
    msg = str(e.value)
    assert "sample 1 lacks input" in msg and "sample 2 has non-string output" in msg and "2 of 3" in msg


def test_not_a_list_or_not_json(tmp_path):
    (tmp_path / "obj.json").write_text('{"instruction": "x"}')
    with pytest.raises(ConfigError, match="JSON list"):
        load_records(data_cfg(tmp_path / "obj.json"))
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_records(data_cfg(tmp_path / "broken.json"))
    with pytest.raises(DataUnavailable, match="does not exist"):
        load_records(data_cfg(tmp_path / "nope.json"))
    with pytest.raises(DataUnavailable, match=r"finetune.data.path=.* is a folder, not a file"):
        load_records(data_cfg(tmp_path))
    (tmp_path / "binary.json").write_bytes(bytes(range(128, 256)))
    with pytest.raises(ConfigError, match=r"binary.json is not UTF-8 text: give the Alpaca data as a JSON list"):
        load_records(data_cfg(tmp_path / "binary.json"))


def test_without_datasets_the_error_says_what_to_do(monkeypatch):
    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(DataUnavailable, match="pip install datasets, or set finetune.data.path=alpaca_data.json"):
        load_records(data_cfg())


def test_templates_may_use_only_instruction_and_input():
    with pytest.raises(ConfigError, match="output"):
        PromptFormat.from_cfg(OmegaConf.create({"prompt_input": "{instruction} {output}", "prompt_no_input": "x"}))
    with pytest.raises(ConfigError, match="must not use"):
        PromptFormat.from_cfg(OmegaConf.create({"prompt_input": "{input}", "prompt_no_input": "{input}"}))
    with pytest.raises(ConfigError, match="not a valid template"):
        PromptFormat.from_cfg(OmegaConf.create({"prompt_input": "{instruction", "prompt_no_input": "x"}))
