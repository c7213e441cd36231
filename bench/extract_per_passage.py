"""The extraction as it was before batching (one forward pass per passage, batch of one, full LM head):
kept verbatim as the baseline of bench/bench_extract.py. Not used by the app."""

import numpy as np
import torch
from tqdm.auto import tqdm

from brainalign.activations.extract import Features
from brainalign.models.layers import LayerRecorder, resolve_layers
from brainalign.models.presentation import contexts


def _forward(lm, ids: list[int], recorder: LayerRecorder, positions: list[int]) -> dict[str, torch.Tensor]:
    device = next(lm.model.parameters()).device
    x = torch.tensor([ids], device=device)
    with torch.no_grad():
        if lm.is_encoder_decoder:  # the study's T5 plugin: decoder fed the same, unshifted tokens
            lm.model(input_ids=x, decoder_input_ids=x)
        else:
            lm.model(input_ids=x)
    return {name: out[0, positions].float().cpu() for name, out in recorder.outputs.items()}


def passage_rows(lm, parts: list[str], recorder: LayerRecorder, names: list[str], one_pass: bool = True) -> np.ndarray:
    """[layers, len(parts), d] for one passage."""
    ctx = contexts(parts)
    ids = [lm.encode(c) for c in ctx]
    rows: list[np.ndarray | None] = [None] * len(parts)
    if one_pass and not lm.is_encoder_decoder:
        full = lm.encode(ctx[-1], truncate=False)
        fits = [0 < len(i) <= lm.max_length and full[: len(i)] == i for i in ids]
        shared = [k for k, ok in enumerate(fits) if ok]
        if shared:
            longest = max(len(ids[k]) for k in shared)
            out = _forward(lm, full[:longest], recorder, [len(ids[k]) - 1 for k in shared])
            stacked = np.stack([out[n].numpy() for n in names])  # [layers, len(shared), d]
            for j, k in enumerate(shared):
                rows[k] = stacked[:, j]
    for k, row in enumerate(rows):
        if row is None:
            out = _forward(lm, ids[k], recorder, [len(ids[k]) - 1])
            rows[k] = np.stack([out[n].numpy()[0] for n in names])
    return np.stack(rows, axis=1)


def extract(lm, passages: list[list[str]], layers=None, one_pass: bool = True, progress: bool = True,
            done: list[np.ndarray] | None = None, on_passage=None) -> Features:
    """Features of every part of every passage, in passage order.

    `done` holds per-passage arrays already computed (resume); `on_passage(i, rows)` is called after
    each new passage (checkpointing).
    """
    names = resolve_layers(lm.model, layers or lm.cfg.get("layers") or ["embedding", "blocks"])
    out = list(done or [])
    with LayerRecorder(lm.model, names) as rec:
        for i in tqdm(range(len(out), len(passages)), desc=f"activations {lm.name}", unit="passage",
                      disable=not progress, initial=len(out), total=len(passages)):
            rows = passage_rows(lm, passages[i], rec, names, one_pass=one_pass)
            out.append(rows)
            if on_passage:
                on_passage(i, rows)
    return Features(values=np.concatenate(out, axis=1).astype(np.float32), layers=names)
