"""Alpaca records -> prompt text -> token ids with the prompt masked out of the loss.

The two arms differ only in their prompt templates (conf/finetune/*.yaml, docs/finetune.md); the
response, the EOS token, the masking and the truncation are the same code for both. Tokenisation
follows Stanford Alpaca's train.py: the prompt and the response are tokenised as one string, and
the first len(tokenize(prompt)) tokens are masked with -100.
"""

import json
import os
import string
from dataclasses import dataclass, field
from pathlib import Path

from brainalign.errors import ConfigError, DataUnavailable

IGNORE_INDEX = -100
FIELDS = ("instruction", "input", "output")
DATASETS_HINT = "pip install datasets, or set finetune.data.path=alpaca_data.json"


# ---------------------------------------------------------------------------------------------
# Records


def load_records(data_cfg) -> list[dict]:
    """The Alpaca samples named by `finetune.data`: a JSON list / JSONL file, or the hub data set."""
    if data_cfg.get("path"):
        path = Path(os.path.expanduser(str(data_cfg.path)))
        if not path.is_file():
            raise DataUnavailable(f"finetune.data.path={path} " + ("is a folder, not a file" if path.is_dir()
                                                                     else "does not exist"))
        records = _read_json(path)
        where = str(path)
    else:
        records = _read_hub(data_cfg)
        where = f"{data_cfg.hub_id} ({data_cfg.get('split', 'train')})"
    validate_records(records, where)
    limit = data_cfg.get("limit")
    return records[: int(limit)] if limit else records


def _read_json(path: Path) -> list:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: give the Alpaca data as a JSON list or JSONL file") from None
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON{'L' if path.suffix == '.jsonl' else ''}: {e}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path} must hold a JSON list of {{instruction, input, output}} objects, "
                          f"got a {type(data).__name__}")
    return data


def _read_hub(data_cfg) -> list[dict]:
    try:
        import datasets
    except ImportError:
        raise DataUnavailable(f"loading {data_cfg.hub_id} needs the `datasets` package: {DATASETS_HINT}") from None
    try:
        ds = datasets.load_dataset(str(data_cfg.hub_id), split=str(data_cfg.get("split", "train")),
                                   revision=data_cfg.get("revision"))
    except Exception as e:  # offline, unknown id, ...
        raise DataUnavailable(f"cannot load {data_cfg.hub_id} through `datasets` ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200]}); download alpaca_data.json where you have a "
                              "connection and set finetune.data.path=alpaca_data.json") from None
    return [{k: row[k] for k in FIELDS if k in row} for row in ds]


def validate_records(records: list, where: str) -> None:
    """Every sample must be an object with string `instruction`, `input` and `output` fields."""
    if not records:
        raise ConfigError(f"{where} holds no samples")
    bad = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            bad.append(f"sample {i} is a {type(rec).__name__}, not an object")
            continue
        missing = [k for k in FIELDS if k not in rec]
        wrong = [k for k in FIELDS if k in rec and not isinstance(rec[k], str)]
        if missing:
            bad.append(f"sample {i} lacks {', '.join(missing)}")
        if wrong:
            bad.append(f"sample {i} has non-string {', '.join(wrong)}")
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise ConfigError(f"{where}: {len(bad)} of {len(records)} samples are not Alpaca records "
                          f"(fields {', '.join(FIELDS)}, all strings; `input` may be \"\"): "
                          + "; ".join(bad[:5]) + more)


# ---------------------------------------------------------------------------------------------
# Prompt formats


@dataclass(frozen=True)
class PromptFormat:
    """The two templates of one arm. A sample uses `prompt_input` when its input is not "" (exactly
    Stanford's rule: `example.get("input", "") != ""`), else `prompt_no_input`."""

    prompt_input: str
    prompt_no_input: str

    @classmethod
    def from_cfg(cls, fmt_cfg) -> "PromptFormat":
        fmt = cls(str(fmt_cfg.prompt_input), str(fmt_cfg.prompt_no_input))
        for name in ("prompt_input", "prompt_no_input"):
            template = getattr(fmt, name)
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError as e:
                raise ConfigError(f"finetune.format.{name} is not a valid template ({e}): {template!r}") from None
            unknown = names - {"instruction", "input"}
            if unknown:
                raise ConfigError(f"finetune.format.{name} uses {sorted(unknown)}; a prompt may only use "
                                  "{instruction} and {input} (the output is the response)")
        if "{input}" in fmt.prompt_no_input:
            raise ConfigError("finetune.format.prompt_no_input must not use {input}: it is for samples whose input is empty")
        return fmt

    def prompt(self, rec: dict) -> str:
        template = self.prompt_input if rec.get("input", "") != "" else self.prompt_no_input
        return template.format_map({"instruction": rec["instruction"], "input": rec.get("input", "")})


# ---------------------------------------------------------------------------------------------
# Tokenisation and masking


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass
class DataStats:
    samples: int = 0
    with_input: int = 0
    empty_input: int = 0
    truncated: int = 0          # longer than max_length: cut on the right, so they lose their EOS
    dropped: int = 0            # prompt alone fills max_length: no response token left to learn
    boundary_merges: int = 0    # tokenize(prompt) is not a prefix of tokenize(prompt + output)
    tokens: int = 0
    masked_tokens: int = 0      # label -100 (prompt, including BOS)
    response_tokens: int = 0    # trained on (output + EOS)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return {**d, **self.extra}


def _ids(tokenizer, text: str) -> list[int]:
    """Token ids with the tokenizer's own special tokens (Llama: BOS first), minus a trailing EOS
    that some tokenizers add by themselves: EOS is appended explicitly below."""
    ids = list(tokenizer(text)["input_ids"])
    eos = tokenizer.eos_token_id
    if ids and ids[-1] == eos and not text.endswith(str(tokenizer.eos_token)):
        ids.pop()
    return ids


def encode(rec: dict, fmt: PromptFormat, tokenizer, max_length: int) -> tuple[Example | None, dict]:
    """One sample -> (input_ids, labels), or None when nothing of the response fits in max_length.

    input_ids = tokenize(prompt + output) + [EOS], cut to max_length tokens;
    labels    = input_ids with the first len(tokenize(prompt)) positions set to -100.
    """
    prompt = fmt.prompt(rec)
    prompt_ids = _ids(tokenizer, prompt)
    full = _ids(tokenizer, prompt + rec["output"]) + [tokenizer.eos_token_id]
    info = {"truncated": len(full) > max_length, "boundary_merge": full[: len(prompt_ids)] != prompt_ids}
    full = full[:max_length]
    n_masked = min(len(prompt_ids), len(full))
    if n_masked >= len(full):
        return None, info
    labels = [IGNORE_INDEX] * n_masked + full[n_masked:]
    return Example(input_ids=full, labels=labels), info


def build_examples(records: list[dict], fmt: PromptFormat, tokenizer, max_length: int) -> tuple[list[Example], DataStats]:
    stats = DataStats()
    examples = []
    for rec in records:
        stats.samples += 1
        if rec.get("input", "") != "":
            stats.with_input += 1
        else:
            stats.empty_input += 1
        ex, info = encode(rec, fmt, tokenizer, max_length)
        stats.truncated += info["truncated"]
        stats.boundary_merges += info["boundary_merge"]
        if ex is None:
            stats.dropped += 1
            continue
        examples.append(ex)
        stats.tokens += len(ex.input_ids)
        stats.masked_tokens += sum(1 for x in ex.labels if x == IGNORE_INDEX)
    stats.response_tokens = stats.tokens - stats.masked_tokens
    if not examples:
        raise ConfigError(f"no sample keeps a response token within finetune.data.max_length={max_length}")
    return examples, stats


class SupervisedDataset:
    """A list of Examples as a map-style dataset for the Trainer."""

    def __init__(self, examples: list[Example]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        ex = self.examples[i]
        return {"input_ids": ex.input_ids, "labels": ex.labels}


@dataclass
class Collator:
    """Right-pads a batch: pad positions get attention 0 and label -100, so they never reach the loss."""

    pad_id: int

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        n = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), n), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), n), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, b in enumerate(batch):
            k = len(b["input_ids"])
            ids[i, :k] = torch.tensor(b["input_ids"])
            labels[i, :k] = torch.tensor(b["labels"])
            mask[i, :k] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
