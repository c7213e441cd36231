"""How much the study's T5 read-out leaks: a tiny T5 trained only to copy its input (an autoencoder,
which can predict nothing) scores Natural Stories words with both read-outs.

    python bench/bench_t5_leak.py [--steps 400] [--words 300]

`study` (decoder fed the unshifted context, encoder sees the word) lets the copier read the answer,
so its "surprisal" collapses; `shifted` (empty encoder, decoder predicts left to right) cannot, so
its surprisal stays near the untrained level. The same untrained model is the control.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def train_copy(folder: Path, steps: int, seed: int = 0):
    import torch
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    from brainalign.models.tiny import _lines

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(folder)
    model = T5ForConditionalGeneration.from_pretrained(folder)
    lines = [line for line in _lines() if 20 < len(line) < 200]
    rng = np.random.RandomState(seed)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for step in range(steps):
        batch = tok([lines[i] for i in rng.randint(len(lines), size=32)], return_tensors="pt", padding=True,
                    truncation=True, max_length=48)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss  # target = the input itself
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(float(loss))
    model.eval()
    model.save_pretrained(folder)
    return float(np.mean(losses[-20:]))


def readouts(folder: Path, words, data, window: int):
    from omegaconf import OmegaConf

    from brainalign.metrics.reading_times import reading_time_alignment
    from brainalign.models.load import load_model
    from brainalign.surprisal import word_surprisal

    lm = load_model(OmegaConf.create({"name": "tiny-t5", "path": str(folder), "max_length": window}))
    within = data.words.word_within_sentence_id.to_numpy()
    out = {}
    for mode in ("study", "shifted"):
        bits = word_surprisal(lm, words, mode="exact", t5=mode).bits
        score = reading_time_alignment(bits, data.mean_rt, within)
        out[mode] = {"mean_bits_per_word": round(float(np.nanmean(bits)), 3), "r_with_rt": round(score.rvalue, 4)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--out", default="bench_t5_leak.json")
    args = parser.parse_args()

    from brainalign.datasets.futrell import load_futrell
    from brainalign.models.tiny import build_tiny

    data = load_futrell({"source": "naturalstories", "max_words": args.words})
    words = data.words.word.tolist()
    folder = build_tiny("t5", Path(tempfile.mkdtemp()) / "t5")
    report = {"words": len(words), "window": args.window, "untrained": readouts(folder, words, data, args.window)}
    started = time.perf_counter()
    report["copy_loss_nats"] = round(train_copy(folder, args.steps), 3)
    report["train_s"], report["steps"] = round(time.perf_counter() - started, 1), args.steps
    report["copy_trained"] = readouts(folder, words, data, args.window)
    print(json.dumps(report, indent=1))
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
