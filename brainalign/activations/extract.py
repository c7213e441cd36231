"""Every layer's activation at the last token of each stimulus's context.

Brain-Score re-runs the model on "part 0 ... part i" for every part i. For a causal model the
activation at the last token of that context is the same inside one forward pass over the whole
passage, as long as the context's tokens are a prefix of the passage's tokens and nothing is
truncated. We check exactly that, per part, and re-run a part on its own where it fails.
Encoder-decoder models see the whole context bidirectionally, so they need one pass per part.

The sequences of several passages go through the model together: padded to the longest one
(right by default; left with position ids counted from each row's first real token), with an
attention mask, so every real token sees exactly what it sees alone. Sequences are sorted by length
inside a group of passages to keep padding small; finished passages are handed to `on_passage` in
order (checkpointing). Only the recorded positions are kept, and the LM head is skipped.
"""

import inspect
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from brainalign.activations.features import Features  # noqa: F401  (re-exported: the extraction's result)
from brainalign.errors import ConfigError
from brainalign.models.layers import LayerRecorder, resolve_layers
from brainalign.models.presentation import chat_head, contexts

CPU_BATCH = 4  # sequences per forward pass on CPU (bench/bench_extract.py: 4 fastest of 2-32, docs/speed.md)
PADDING = ("right", "left")


@dataclass
class Sequence:
    passage: int  # index into the passages
    parts: list[int]  # which parts of the passage this sequence gives
    ids: list[int]
    positions: list[int]  # token index read for each of `parts`


def passage_sequences(lm, i: int, parts: list[str], one_pass: bool = True) -> list[Sequence]:
    """The forward passes one passage needs: one for all its parts where they share a prefix, else one each."""
    ctx = contexts(parts, head=chat_head(lm))
    ids = [lm.encode(c) for c in ctx]
    out, left = [], list(range(len(parts)))
    if one_pass and not lm.is_encoder_decoder:
        full = lm.encode(ctx[-1], truncate=False)
        shared = [k for k in left if 0 < len(ids[k]) <= lm.max_length and full[: len(ids[k])] == ids[k]]
        if shared:
            longest = max(len(ids[k]) for k in shared)
            out.append(Sequence(i, shared, full[:longest], [len(ids[k]) - 1 for k in shared]))
            left = [k for k in left if k not in shared]
    out += [Sequence(i, [k], ids[k], [len(ids[k]) - 1]) for k in left]
    return out


def batch_size_for(free_bytes: int, seq_len: int, hidden: int, n_heads: int, intermediate: int | None = None,
                   dtype_bytes: int = 2, fraction: float = 0.5, cap: int = 256) -> int:
    """Sequences per forward pass that fit `fraction` of `free_bytes` of device memory.

    Per sequence a layer's forward holds a few residual-sized tensors, the MLP's intermediate
    activations and, at worst (eager attention), one heads x len x len score matrix; blocks run one
    after the other, so one block's working set bounds the peak (weights are already resident).
    """
    intermediate = intermediate or 4 * hidden
    per_seq = dtype_bytes * seq_len * (8 * hidden + 3 * intermediate + 2 * n_heads * seq_len)
    return int(max(1, min(cap, fraction * free_bytes // max(per_seq, 1))))


def auto_batch_size(lm, seq_len: int) -> int:
    """`model.batch_size` if set; else CPU_BATCH on CPU, or what fits the free memory of the GPU."""
    wanted = getattr(lm.cfg, "batch_size", None)
    if wanted is not None:
        if int(wanted) < 1:
            raise ConfigError(f"model.batch_size={wanted}; use a positive number, or null to choose from memory")
        return int(wanted)
    param = next(lm.model.parameters())
    if param.device.type != "cuda":
        return CPU_BATCH
    c = lm.model.config
    hidden = getattr(c, "hidden_size", None) or getattr(c, "d_model", None) or getattr(c, "n_embd", 768)
    heads = getattr(c, "num_attention_heads", None) or getattr(c, "num_heads", None) or getattr(c, "n_head", 12)
    inter = getattr(c, "intermediate_size", None) or getattr(c, "d_ff", None) or getattr(c, "n_inner", None)
    free, _ = torch.cuda.mem_get_info(param.device)
    return batch_size_for(free, seq_len, hidden, heads, inter, param.element_size())


class _Runner:
    """Runs a batch of token sequences through the model, keeping only the recorded positions."""

    def __init__(self, lm, recorder: LayerRecorder, names: list[str], padding: str):
        if padding not in PADDING:
            raise ConfigError(f"model.padding_side={padding!r}; choose one of {', '.join(PADDING)}")
        self.lm, self.rec, self.names, self.padding = lm, recorder, names, padding
        self.device = next(lm.model.parameters()).device
        tok = lm.tokenizer
        self.pad = next((t for t in (tok.pad_token_id, tok.eos_token_id) if t is not None), 0)
        base = getattr(lm.model, "base_model", lm.model)
        # the blocks are the same modules inside the base model: running it skips the LM head
        self.forward = base if (base is not lm.model and not lm.is_encoder_decoder) else lm.model
        self.positional = "position_ids" in inspect.signature(self.forward.forward).parameters

    def __call__(self, seqs: list[Sequence]) -> list[np.ndarray]:
        """[layers, len(s.parts), d] for each sequence."""
        width = max(len(s.ids) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        rows, cols = [], []
        for r, s in enumerate(seqs):
            offset = width - len(s.ids) if self.padding == "left" else 0
            ids[r, offset:offset + len(s.ids)] = torch.tensor(s.ids)
            mask[r, offset:offset + len(s.ids)] = 1
            rows += [r] * len(s.positions)
            cols += [offset + p for p in s.positions]
        ids, mask = ids.to(self.device), mask.to(self.device)
        kwargs = dict(input_ids=ids, attention_mask=mask, use_cache=False)
        if self.lm.is_encoder_decoder:  # the study's T5 plugin: decoder fed the same, unshifted tokens
            kwargs.update(decoder_input_ids=ids, decoder_attention_mask=mask)
        elif self.positional and self.padding == "left":
            kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
        self.rec.select = (torch.tensor(rows, device=self.device), torch.tensor(cols, device=self.device))
        with torch.inference_mode():
            self.forward(**kwargs)
        picked = np.stack([self.rec.outputs[n].float().cpu().numpy() for n in self.names])  # [layers, sel, d]
        self.rec.select = None
        out, at = [], 0
        for s in seqs:
            out.append(picked[:, at:at + len(s.positions)])
            at += len(s.positions)
        return out


def extract(lm, passages: list[list[str]], layers=None, one_pass: bool = True, progress: bool = True,
            done: list[np.ndarray] | None = None, on_passage=None, batch_size: int | None = None,
            padding: str | None = None) -> Features:
    """Features of every part of every passage, in passage order.

    `done` holds per-passage arrays already computed (resume); `on_passage(i, rows)` is called after
    each new passage, in order (checkpointing). batch_size: sequences per forward pass (default:
    `model.batch_size`, or chosen from memory); padding: "right" (default) or "left".
    """
    if getattr(lm, "is_encoder", False):  # BERT-style: brainalign/activations/encoder.py
        from brainalign.activations.encoder import extract_encoder

        return extract_encoder(lm, passages, layers, progress=progress, done=done, on_passage=on_passage)
    names = resolve_layers(lm.model, layers or lm.cfg.layers)
    padding = padding or lm.cfg.padding_side or "right"
    out = list(done or [])
    todo = list(range(len(out), len(passages)))
    seqs = {i: passage_sequences(lm, i, passages[i], one_pass) for i in todo}
    longest = max((len(s.ids) for group in seqs.values() for s in group), default=1)
    size = int(batch_size) if batch_size else auto_batch_size(lm, longest)
    bar = tqdm(total=len(passages), initial=len(out), desc=f"activations {lm.name}", unit="passage",
               disable=not progress)
    with LayerRecorder(lm.model, names) as rec:
        run = _Runner(lm, rec, names, padding)
        group_size = max(1, 4 * size)  # passages sorted by length together; checkpointed group by group
        for g in range(0, len(todo), group_size):
            group = todo[g:g + group_size]
            jobs = sorted((s for i in group for s in seqs[i]), key=lambda s: len(s.ids))
            rows = {i: [None] * len(passages[i]) for i in group}
            for b in range(0, len(jobs), size):
                batch = jobs[b:b + size]
                for s, values in zip(batch, run(batch)):
                    for j, k in enumerate(s.parts):
                        rows[s.passage][k] = values[:, j]
            for i in group:
                stacked = np.stack(rows[i], axis=1) if rows[i] else np.zeros((len(names), 0, 0), np.float32)
                out.append(stacked)
                if on_passage:
                    on_passage(i, stacked)
                bar.update(1)
    bar.close()
    return Features(values=np.concatenate(out, axis=1).astype(np.float32), layers=names)
