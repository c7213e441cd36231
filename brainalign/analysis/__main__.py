"""python -m brainalign.analysis --results outputs --out outputs/analysis  (see docs/analysis.md)"""

import argparse
import sys
import tempfile

from brainalign.errors import BrainalignError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m brainalign.analysis",
                                description="Analyse stored brainalign results: report.md, CSV tables, PNG figures.")
    p.add_argument("--results", default="outputs", help="folder searched for result.json files (default outputs)")
    p.add_argument("--out", default=None, help="output folder (default <results>/analysis)")
    p.add_argument("--conf", default=None, help="model config folder (default the repository's conf/model)")
    p.add_argument("--score", choices=("raw", "ceiled"), default="raw", help="raw r (the study's) or ceiling-normalised")
    p.add_argument("--layer", choices=("best", "study"), default="best",
                   help="best layer per dataset (the study) or each config's committed study_layer")
    p.add_argument("--mixed", choices=("refuse", "group"), default="refuse",
                   help="results of one dataset with other settings/ceilings: refuse, or keep as separate columns")
    p.add_argument("--include", nargs="*", default=None, help="model name patterns to keep (fnmatch)")
    p.add_argument("--exclude", nargs="*", default=[], help="model name patterns to leave out, e.g. 'gpt2*' "
                   "(the study's main analysis has no GPT-2)")
    p.add_argument("--properties", default=None, help="CSV/JSON of model properties overriding the configs' figures")
    p.add_argument("--brain-datasets", nargs="*", default=None, help="datasets averaged into brain_average")
    p.add_argument("--wandb", choices=("disabled", "offline", "online"), default="disabled", help="mirror to W&B")
    p.add_argument("--wandb-project", default="brainalign")
    p.add_argument("--wandb-group", default=None, help="e.g. the sweep's group, to sit beside its runs")
    p.add_argument("--no-figures", action="store_true", help="skip the PNGs")
    p.add_argument("--tokens-per-step", type=float, default=None,
                   help="training tokens per checkpoint step (trajectory.png; default: each model's tokens_per_step)")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes for the pairs' dual bootstrap tables (default: every CPU core)")
    p.add_argument("--force", action="store_true", help="overwrite an earlier analysis in the output folder")
    p.add_argument("--paper-tables", default=None, help="analyse the study's own tables (CSV, e.g. "
                   "tests/fixtures/paper_tables.csv) instead of --results")
    a = p.parse_args(argv)
    from brainalign.analysis import run

    try:
        results, properties = a.results, a.properties
        if a.paper_tables:
            from brainalign.analysis.paper import write_results

            results = tempfile.mkdtemp(prefix="paper-tables-")
            write_results(a.paper_tables, results, a.conf)
            if a.out is None:
                a.out = "paper-analysis"
        run(results, a.out, a.conf, score=a.score, layer=a.layer, mixed=a.mixed, include=a.include,
            exclude=a.exclude, properties=properties, brain_datasets=a.brain_datasets,
            tracking={"mode": a.wandb, "project": a.wandb_project, "group": a.wandb_group}, figures=not a.no_figures,
            force=a.force, tokens_per_step=a.tokens_per_step, jobs=a.jobs)
    except BrainalignError as e:
        print(f"[brainalign] error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
