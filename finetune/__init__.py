"""Instruction tuning on Alpaca and its "no instruction" ablation, scored over training (Aw et al. 2024, Fig. 1D).

    data.py         Alpaca records -> the arm's prompt format -> token ids, prompt masked out of the loss
    checks.py       does the model fit the mode (full / LoRA / QLoRA) on this machine? before any training
    train.py        transformers.Trainer set-up, checkpoints, resume
    checkpoints.py  every checkpoint scored by the configured benchmarks, one result file each
    report.py       one table + one figure over epochs for all arms
    (W&B)          brainalign/app/tracking.py FinetuneTracker, the same module as a scoring run's
    dequantize.py   GGUF weights -> a plain folder that can be trained (transformers trains no GGUF model)
    sample.py       a 16-sample Alpaca-format file written for this project
    pipeline.py     run(cfg, out_dir): all of the above for one arm (`task=finetune`)
"""

from finetune.pipeline import run

__all__ = ["run"]
