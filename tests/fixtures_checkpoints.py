"""Checkpoints of a tiny GPT-2 trained a few steps: <root>/step0, step2, step4 (save_pretrained at each)."""

from pathlib import Path

import pytest

STEPS = (0, 2, 4)


def train_checkpoints(source: Path, root: Path, steps=STEPS, lr: float = 3e-3) -> Path:
    """Train the model in `source` on the tiny tokenizer's own corpus and save it at each of `steps`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brainalign.models.tiny import _lines

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source)
    batch = tok(_lines()[:16], return_tensors="pt", padding=True, truncation=True, max_length=32)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for step in range(max(steps) + 1):
        if step in steps:
            model.save_pretrained(root / f"step{step}")
            tok.save_pretrained(root / f"step{step}")
        if step < max(steps):
            loss = model(**batch, labels=batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    return root


@pytest.fixture(scope="session")
def checkpoints(tiny_models, tmp_path_factory) -> Path:
    return train_checkpoints(tiny_models["gpt2"], tmp_path_factory.mktemp("checkpoints"))
