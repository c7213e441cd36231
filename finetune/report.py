"""One table and one figure for all arms of a model: score and training loss over epochs (figure 1D).

Built from the stored per-checkpoint files only, so it also works after the fact:

    python -m finetune.report outputs/finetune/llama-7b/full

reads every arm folder below that path (each holds run.json + scores/) and writes
finetune_table.csv and finetune_figure.png there.
"""

import argparse
import json
import sys
from pathlib import Path

from finetune.checkpoints import load_scores, points
from brainalign.plumbing.io import write_text

KIND_COLUMNS = ("brain", "behavioral", "mmlu", "bbh")
TABLE = "finetune_table.csv"
FIGURE = "finetune_figure.png"


def arm_dirs(root: Path) -> list[Path]:
    """Run folders (holding run.json) at or below root."""
    root = Path(root)
    if (root / "run.json").exists():
        return [root]
    return sorted(p.parent for p in root.glob("*/run.json"))


def table(run_dirs: list[Path]):
    """One row per (arm, step): epoch, train_loss, the mean score of each kind, then every benchmark."""
    import pandas as pd

    rows, bench_cols, kinds, bench_kind = {}, [], set(), {}
    for run_dir in run_dirs:
        meta = json.loads((Path(run_dir) / "run.json").read_text())
        arm = meta["arm"]
        for p in points(run_dir, include_base=False):  # checkpoints not scored yet still show their loss
            rows.setdefault((arm, p.step), {"arm": arm, "step": p.step, "epoch": p.epoch, "train_loss": p.train_loss})
        for rec in load_scores(run_dir):
            row = rows.setdefault((arm, rec["step"]), {"arm": arm, "step": rec["step"], "epoch": rec["epoch"],
                                                       "train_loss": rec["train_loss"]})
            row[rec["benchmark"]] = rec["value"]
            row.setdefault("_kinds", {}).setdefault(rec["kind"], []).append(rec["value"])
            kinds.add(rec["kind"])
            bench_kind[rec["benchmark"]] = rec["kind"]
            if rec["benchmark"] not in bench_cols:
                bench_cols.append(rec["benchmark"])
    for row in rows.values():
        by_kind = row.pop("_kinds", {})
        for kind in KIND_COLUMNS:
            vals = by_kind.get(kind)
            row[kind] = sum(vals) / len(vals) if vals else None
    kind_cols = ["brain", "behavioral"] + [k for k in ("mmlu", "bbh") if k in kinds]
    columns = ["arm", "step", "epoch", "train_loss"] + kind_cols + sorted(bench_cols)
    df = pd.DataFrame(list(rows.values()), columns=columns)
    df = df.sort_values(["arm", "step"]).reset_index(drop=True)
    df.attrs["kinds"] = bench_kind
    return df


def figure(df, out: Path, title: str = "") -> Path:
    """Panels: each score kind that has values, benchmarks of no kind, then training loss; one line
    per arm, x = epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"brain": "brain alignment", "behavioral": "behavioral alignment", "mmlu": "MMLU", "bbh": "BBH",
              "train_loss": "training loss"}
    others = [b for b, kind in df.attrs.get("kinds", {}).items() if kind not in KIND_COLUMNS]
    panels = [c for c in KIND_COLUMNS if c in df and df[c].notna().any()] + sorted(others) + ["train_loss"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, col in zip(axes[0], panels):
        for arm, sub in df.groupby("arm"):
            sub = sub[sub[col].notna()]
            if len(sub):
                ax.plot(sub["epoch"], sub[col], marker="o", ms=3, label=str(arm))
        ax.set_xlabel("epoch")
        ax.set_ylabel(labels.get(col, col))
        ax.grid(alpha=0.3)
    axes[0][0].legend(title="arm")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def write_report(root: Path) -> tuple[Path, Path]:
    """finetune_table.csv and finetune_figure.png for every arm folder at or below root."""
    root = Path(root)
    runs = arm_dirs(root)
    if not runs:
        raise FileNotFoundError(f"no fine-tuning run (run.json) at or below {root}")
    out_dir = root if runs != [root] else root.parent
    df = table(runs)
    csv = out_dir / TABLE
    write_text(csv, df.to_csv(index=False))
    meta = json.loads((runs[0] / "run.json").read_text())
    png = figure(df, out_dir / FIGURE, title=f"{meta.get('model')} ({meta.get('mode')})")
    return csv, png


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="folder holding the arm folders (or one arm folder)")
    args = parser.parse_args(argv)
    try:
        csv, png = write_report(args.root)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 1
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
