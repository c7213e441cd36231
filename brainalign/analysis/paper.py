"""The study's own tables as result files, so the analysis can be checked against its published numbers.

`write_results(tables_csv, out_dir)` turns a CSV of the study's Table 5 (brain alignment per dataset),
Table 9 (behavioral alignment) and Table 7 (NWP loss, MMLU, BBH) into
`<out>/<model>/<dataset>/paper-table/result.json` files shaped like the ones a sweep writes, and a
properties CSV of Table 7. The tables give no per-participant scores, so these results have none
(the report then shows no error bars). Used by tests/test_analysis_paper.py and by
`python -m brainalign.analysis --paper-tables tests/fixtures/paper_tables.csv`.
"""

import json
import math
from pathlib import Path

import pandas as pd

from brainalign import registry
from brainalign.analysis.properties import load_model_configs
from brainalign.plumbing.io import write_text

# Table 6 (brain) and Table 10 (Futrell2018) noise ceilings
CEILINGS = {"pereira": 0.359, "blank": 0.210, "wehbe": 0.104, "futrell": 0.858}
TABLE = {"pereira": "Pereira2018 (Table 5)", "blank": "Blank2014 (Table 5)", "wehbe": "Wehbe2014 (Table 5)",
         "futrell": "Futrell2018 (Table 9)"}


def read_tables(path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#").set_index("model")


def write_results(tables_csv, out_dir, model_conf_dir=None) -> dict:
    """Write one result.json per (model, dataset) value of the tables; return {'results': n, 'properties': csv}."""
    tables = read_tables(tables_csv)
    configs = load_model_configs(model_conf_dir)
    unknown = [m for m in tables.index if m not in configs]
    if unknown:
        raise ValueError(f"models of {tables_csv} without a config in conf/model: {unknown}")
    out = Path(out_dir)
    n = 0
    for name, row in tables.iterrows():
        cfg = configs[name]
        for dataset, ceiling in CEILINGS.items():
            raw = row.get(dataset)
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                continue
            raw = float(raw)
            result = {
                "model": {"name": name, "hf_id": cfg.get("hf_id"), "family": cfg.get("family"), "arch": cfg.get("arch"),
                          "instruction_tuned": cfg.get("instruction_tuned"), "pair": cfg.get("pair"),
                          "params": cfg.get("params")},
                "dataset": dataset, "benchmark": dataset, "kind": registry.benchmark(dataset).kind,
                "table": TABLE[dataset], "metric": "paper-table",
                "settings": {"source": "Aw et al. 2024, arXiv 2312.00575 v2", "score": "raw Pearson r"},
                "raw": raw, "ceiled": min(raw / ceiling, 1.0), "ceiling": ceiling,
                "best_layer": None, "best_layer_index": None, "raw_cv": None, "n_layers": cfg.get("n_layers"),
                "per_layer": [], "per_subject": {}, "synthetic": False,
            }
            folder = out / name / dataset / "paper-table"
            folder.mkdir(parents=True, exist_ok=True)
            write_text(folder / "result.json", json.dumps(result, indent=2))
            n += 1
    props = tables[["mmlu", "bbh", "nwp"]].dropna(how="all")
    props_csv = out / "paper_properties.csv"
    write_text(props_csv, props.to_csv())
    return {"results": n, "properties": props_csv}
