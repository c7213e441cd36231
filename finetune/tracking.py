"""W&B mirror of a fine-tuning run: the Trainer logs its curves into the run opened here, and the
per-checkpoint scores, the table and the figure are added to it. The files in run_dir stay the record.

One run per arm, with its id kept in run_dir/wandb_id.txt, so a resumed or follow-up command
continues the same W&B run.
"""

import os
import uuid
from pathlib import Path
from brainalign.plumbing.io import write_text


class Tracker:
    def __init__(self, tracking_cfg, run_dir: Path, name: str, config: dict):
        self.mode = str((tracking_cfg or {}).get("mode", "disabled"))
        self.run = None
        if self.mode == "disabled" or int(os.environ.get("RANK", "0")) != 0:
            return
        import wandb

        from brainalign.plumbing.network import wandb_mode

        self.mode = wandb_mode(self.mode)
        id_file = run_dir / "wandb_id.txt"
        run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:12]
        write_text(id_file, run_id)
        # resume="allow" continues an online run; offline (wandb 0.31) it leaves an empty log, so an
        # offline restart writes a second offline-run-*-<id> folder, and `wandb sync` joins them in order.
        resume = {"resume": "allow"} if self.mode == "online" else {}
        self.run = wandb.init(project=tracking_cfg.get("project", "brainalign"), entity=tracking_cfg.get("entity"),
                              mode=self.mode, dir=str(run_dir), name=name, id=run_id, job_type="finetune",
                              config=config, **resume)
        self.run.define_metric("train/global_step")
        self.run.define_metric("score/*", step_metric="train/global_step")
        self.run.define_metric("score_epoch", step_metric="train/global_step")

    @property
    def enabled(self) -> bool:
        return self.run is not None

    def report_to(self) -> list[str]:
        """For TrainingArguments: the Trainer's WandbCallback reuses the run opened here."""
        return ["wandb"] if self.enabled else []

    def log_score(self, step: int, epoch: float, values: dict) -> None:
        if self.enabled:
            self.run.log({**{f"score/{k}": v for k, v in values.items()}, "score_epoch": epoch,
                          "train/global_step": step})

    def log_report(self, table_csv: Path | None, figure_png: Path | None) -> None:
        if not self.enabled:
            return
        import pandas as pd
        import wandb

        if table_csv and table_csv.exists():
            self.run.log({"finetune/table": wandb.Table(dataframe=pd.read_csv(table_csv))})
        if figure_png and figure_png.exists():
            self.run.log({"finetune/figure": wandb.Image(str(figure_png))})

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
