"""Analysis across runs: read stored results, compare instruction-tuned models with their vanilla pairs,
correlate alignment with size / MMLU / BBH / NWP, and write report.md + CSV + PNG (docs/analysis.md).

    python -m brainalign.analysis --results outputs --out outputs/analysis
    python main.py task=analyze                       # the same, from the Hydra config
    from brainalign.analysis import run; run("outputs", "outputs/analysis")
"""

import math
import os
from pathlib import Path

import pandas as pd

from brainalign.analysis.collect import Collected, MixedResults, collect
from brainalign.plumbing.io import write_text

__all__ = ["run", "collect", "Collected", "MixedResults"]

OPTIONS = ("score", "layer", "mixed", "include", "exclude", "properties", "brain_datasets", "tracking", "figures",
           "force", "tokens_per_step", "jobs")


def _from_config(cfg) -> tuple[str, str | None, dict]:
    """(results dir, out dir, options) from a Hydra config (`task=analyze`)."""
    from omegaconf import OmegaConf

    c = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    opts = dict(c.get("analysis") or {})
    results = c.get("results") or opts.pop("results", None) or c.get("results_dir") or "outputs"
    out = opts.pop("out", None)   # None: beside the results (<results>/analysis), as python -m brainalign.analysis
    opts.setdefault("tracking", c.get("tracking"))
    opts.setdefault("force", bool(c.get("force", False)))
    conf = opts.pop("model_conf_dir", None)
    if conf:
        opts["model_conf_dir"] = conf
    return str(results), out, opts


def _brain_average_columns(col: Collected, wanted) -> list[str]:
    brain = col.columns("brain")
    if wanted:
        missing = [d for d in wanted if d not in brain]
        if missing:
            from brainalign.errors import ConfigError

            raise ConfigError(f"brain_datasets {missing} are not among the brain datasets here: {brain}")
        return list(wanted)
    real = [d for d in brain if not col.datasets.loc[d, "synthetic"] and not col.datasets.loc[d, "subset"]]
    return real or brain


def run(results, out_dir=None, model_conf_dir=None, *, score: str = "raw", layer: str = "best",
        mixed: str = "refuse", include=None, exclude=(), properties=None, brain_datasets=None,
        tracking: dict | None = None, figures: bool = True, force: bool = False,
        tokens_per_step: float | None = None, jobs: int | None = None) -> dict:
    """Analyse every result under `results` and write the report into `out_dir` (default <results>/analysis).

    `results` may also be the Hydra config of `python main.py task=analyze` (keys `results` or
    `results_dir`, options under `analysis:`, W&B settings under `tracking:`). jobs: processes for the
    pairs' dual bootstrap tables (default every CPU core). Returns the tables and headline numbers
    (see docs/analysis.md).
    """
    from brainalign.analysis import (chat, claims, correlations, pairs, perturbations, report, significance, trajectory,
                                     untrained)
    from brainalign.analysis.properties import MODEL_CONF_DIR, load_model_configs, merge_properties, read_properties, study_properties
    from brainalign.analysis.size_controls import hidden_widths, size_controls

    if not isinstance(results, (str, Path)):
        results, cfg_out, opts = _from_config(results)
        out_dir = out_dir or cfg_out
        model_conf_dir = opts.pop("model_conf_dir", model_conf_dir)
        unknown = set(opts) - set(OPTIONS)
        if unknown:
            from brainalign.errors import ConfigError

            raise ConfigError(f"unknown analysis options {sorted(unknown)}; known: {', '.join(OPTIONS)}")
        return run(results, out_dir, model_conf_dir, **opts)

    from brainalign.analysis.collect import ANALYSIS_DIR

    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        from brainalign.errors import ConfigError

        raise ConfigError(f"jobs={jobs!r}: give a number of processes, 1 or more")
    results_dir = Path(results)
    out = Path(out_dir) if out_dir else results_dir / ANALYSIS_DIR
    if (out / "report.md").exists() and not force:
        from brainalign.errors import ConfigError

        raise ConfigError(f"{out / 'report.md'} exists from an earlier analysis; force=true (--force) overwrites it, "
                          "or choose another analysis.out (--out)")
    conf_dir = Path(model_conf_dir) if model_conf_dir else MODEL_CONF_DIR
    configs = load_model_configs(conf_dir) if conf_dir.is_dir() else {}

    col = collect(results_dir, score=score, mixed=mixed, layer=layer, model_configs=configs,
                  include=list(include) if include else None, exclude=list(exclude or ()),
                  on_skipped=lambda line: print(f"[brainalign] skipped {line}"))
    if col.rows.empty and col.failures.empty and col.chat.empty and col.controls.empty:
        from brainalign.errors import DataUnavailable

        raise DataUnavailable(f"no result.json under {results_dir}" + (f" (all of {col.excluded} excluded)" if col.excluded else ""))
    out.mkdir(parents=True, exist_ok=True)
    wide, mad = col.table(), col.mad()
    brain_cols = _brain_average_columns(col, brain_datasets) if len(col.rows) else []
    behavior_cols = col.columns("behavior") if len(col.rows) else []
    measures = list(col.datasets.index)
    if len(brain_cols) >= 2:
        wide["brain_average"] = wide[brain_cols].mean(axis=1, skipna=False)
        measures.insert(len([c for c in measures if c in col.columns("brain")]), "brain_average")
    brain_measure = "brain_average" if len(brain_cols) >= 2 else (brain_cols[0] if brain_cols else None)
    behavior_full = [c for c in behavior_cols if not col.datasets.loc[c, "subset"]]   # a subset is never averaged
    if len(behavior_full) >= 2:
        wide["behavior_average"] = wide[behavior_full].mean(axis=1, skipna=False)
        measures.append("behavior_average")
    behavior_measures = behavior_cols + (["behavior_average"] if len(behavior_full) >= 2 else [])
    usable = [m for m in behavior_measures if m not in behavior_cols or m in behavior_full] or behavior_measures
    behavior_measure = usable[-1] if usable else None
    headline = [m for m in [brain_measure, behavior_measure] if m]

    # properties: the model configs' (the study's Table 7), overridden by a file where given
    props = study_properties(configs) if configs else pd.DataFrame()
    for name in col.models.index:   # models without a config: size from their result
        if name not in props.index:
            p = col.models.loc[name, "params"]
            props.loc[name, "params"] = float(p) if p is not None else math.nan
            props.loc[name, "log10_params"] = math.log10(float(p)) if p else math.nan
    override = read_properties(properties) if properties else None
    props, source = merge_properties(props, override)
    props_source = "the study's figures stored in conf/model (Table 7)" + (f", overridden by {properties}" if properties else "")

    changes = pairs.pair_changes(col.models, wide, measures)
    summary = pairs.summarize(changes)
    unpaired = pairs.unpaired(col.models, wide, measures)
    overall = pairs.overall_gain(summary, brain_cols)
    corr = correlations.correlate(wide, props, col.models, measures)
    sizes = size_controls(wide, props, col.models, hidden_widths(configs), col.datasets,
                          [m for m in measures if m not in behavior_measures])
    # needs comparison_<protocol>.npz files
    tested = significance.pair_comparisons(col.rows, col.models, jobs=jobs or os.cpu_count() or 1)
    chat_table = chat.compare(col, configs)  # raw text vs chat template, same model
    untrained_table = untrained.deltas(col)  # trained minus untrained, over init seeds
    traj = trajectory.table(col, tokens_per_step)   # scores along training (checkpoints)
    traj_fig = trajectory.figure(traj, col, out / "trajectory.png") if figures else None
    perturbed, lonely = perturbations.compare(col)  # intact minus perturbed stimuli, same model
    perturbed_pairs = perturbations.pair_gains(perturbed, col.models)
    claims_tuning, claims_size = claims.tables(col, props, hidden_widths(configs), untrained_table, perturbed)

    figs = _figures(out, wide, mad, col, measures, changes, behavior_measures, brain_measure, behavior_measure, props,
                    corr, score) if figures else []
    info = col.models[["family", "instruction_tuned", "pair", "params"]]
    wide_out = info.join(wide, how="right").join(mad.add_suffix(" MAD")).join(props.drop(columns=["params"], errors="ignore"))
    tables = {"alignment": col.rows.set_index(["model", "dataset"]), "alignment_wide": wide_out,
              "pairs": significance.with_tests(changes, tested),
              "pair_summary": summary, "unpaired": unpaired, "correlations": corr, "properties": props,
              "properties_source": source, "datasets": col.datasets, "failures": col.failures,
              "significance": tested, "significance_summary": significance.summarize(tested),
              "chat_template": chat_table, "perturbations": perturbed, "perturbation_pairs": perturbed_pairs,
              "size_controls": sizes, "untrained": untrained_table, "trajectory": traj,
              "claims_tuning": claims_tuning, "claims_size": claims_size}
    figs += [traj_fig] if traj_fig else []
    files = list(report.write_tables(out, tables).values()) + figs
    ctx = {"collected": col, "wide": wide, "mad": mad, "measures": measures, "brain_columns": brain_cols,
           "behavior_measures": behavior_measures, "headline_measures": headline, "pair_summary": summary,
           "changes": changes, "unpaired": unpaired, "overall_gain": overall, "correlations": corr,
           "properties": props, "properties_source": props_source, "results_dir": str(results_dir),
           "model_sets": correlations.model_sets(col.models) if len(col.models) else {}, "files": files,
           "significance": tested, "chat_template": chat_table,
           "perturbations": (perturbed, perturbed_pairs, lonely) if col.perturbed else None, "size_controls": sizes,
           "untrained": untrained_table, "trajectory": traj, "trajectory_figure": traj_fig,
           "claims": (claims_tuning, claims_size)}
    report_path = out / "report.md"
    files.append(report_path)
    write_text(report_path, report.render(ctx))
    numbers = report.summary_numbers(ctx)
    report.dump_json(out / "summary.json", numbers)
    report.log_to_wandb(out, {k: v for k, v in tables.items() if k in ("alignment_wide", "pairs", "pair_summary", "correlations")},
                        figs, report_path, {**numbers, "setting/score": score, "setting/layer": layer}, tracking,
                        sources=sorted({Path(p).parent for p in [*col.rows["path"], *col.chat["path"]]}))
    chat_note = f" (+ {len(col.chat)} chat-template results)" if len(col.chat) else ""
    chat_note += f" (+ {len(col.perturbed)} perturbed-stimuli results)" if col.perturbed else ""
    skipped_note = f" ({len(col.skipped)} skipped, listed above)" if col.skipped else ""
    print(f"[brainalign] analysis of {len(col.rows)} results{chat_note}{skipped_note} -> {report_path}")
    cost = _sweep_cost(results_dir, {*col.rows["path"], *col.chat["path"]})
    return {"cost": cost, "out_dir": out, "report": report_path, "files": files, "numbers": numbers, "alignment": wide,
            "mad": mad, "pairs": changes, "pair_summary": summary, "unpaired": unpaired, "correlations": corr,
            "properties": props, "collected": col, "overall_gain": overall, "significance": tested,
            "chat_template": chat_table}


def _sweep_cost(results_dir, paths) -> dict:
    """Print and return the wall time and peak memory of the runs analysed (their result.json paths;
    brainalign.analysis.cost): those --exclude left out do not count."""
    from brainalign.analysis.collect import read_runs
    from brainalign.analysis.cost import cost_line, sweep_cost

    cost = sweep_cost([r for r in read_runs(results_dir)[0] if r["_path"] in paths])
    print(f"[brainalign] {cost_line(cost)}")
    return cost


def _figures(out, wide, mad, col, measures, changes, behavior_measures, brain_measure, behavior_measure, props, corr,
             score) -> list:
    from brainalign.analysis import figures

    figs = []
    score_label = "raw score (Pearson r)" if score == "raw" else "ceiled score (Pearson r / ceiling)"
    for f in (figures.scores(wide, mad, col.models, measures, out / "alignment.png", score_label),
              figures.pair_changes(changes, col.models, [m for m in measures if m not in behavior_measures],
                                   out / "fig1b_pairs_brain.png", "Brain alignment: instruction-tuned vs vanilla"),
              figures.pair_changes(changes, col.models, behavior_measures, out / "fig1c_pairs_behavior.png",
                                   "Behavioral alignment: instruction-tuned vs vanilla")):
        if f:
            figs.append(f)
    panels = [("log10_params", "instruction-tuned"), ("log10_params", "all"), ("mmlu", "instruction-tuned"),
              ("bbh", "instruction-tuned"), ("bbh_world_knowledge", "instruction-tuned"), ("nwp", "instruction-tuned")]
    if brain_measure:
        f = figures.scatter_panels(wide, props, col.models, corr, brain_measure, panels, out / "fig2_brain.png",
                                   f"Brain alignment ({brain_measure}) vs model properties",
                                   f"brain alignment, {score_label}" + ("\nmean over brain datasets"
                                                                        if brain_measure == "brain_average" else ""))
        figs += [f] if f else []
    if behavior_measure:
        f = figures.scatter_panels(wide, props, col.models, corr, behavior_measure, panels,
                                   out / "fig3_behavior.png",
                                   f"Behavioral alignment ({behavior_measure}) vs model properties",
                                   f"behavioral alignment, {score}\n({behavior_measure})")
        figs += [f] if f else []
    f = figures.layer_curves(_layer_curves(col, score), col.models, out / "fig4_layers.png", score_label)
    figs += [f] if f else []
    f = figures.protocol_bars(_protocol_scores(col, score), col.models, out / "fig5_protocols.png", score_label)
    figs += [f] if f else []
    from brainalign.analysis import detail_figures as detail

    brain = [m for m in measures if m not in behavior_measures]
    for f in (detail.pair_scatter(wide, mad, col.models, brain, out / "fig6_it_vs_vanilla.png", score_label),
              detail.subject_dots(detail.subject_scores(col.rows), col.models, out / "fig7_participants.png"),
              detail.surprisal_hexbin(detail.surprisal_tables(col.rows), out / "fig8_surprisal_rt.png")):
        figs += [f] if f else []
    return figs


def _protocol_scores(col, score: str) -> pd.DataFrame:
    """(dataset, model, protocol, value): each result's best-layer score under each of its protocols."""
    import json

    rows = []
    for row in col.rows.itertuples():
        for protocol, p in (json.loads(Path(row.path).read_text()).get("protocols") or {}).items():
            rows.append({"dataset": row.dataset, "model": row.model, "protocol": protocol, "value": p.get(score)})
    return pd.DataFrame(rows, columns=["dataset", "model", "protocol", "value"])


def _layer_curves(col, score: str) -> dict:
    """{(dataset, model): (relative depths, per-layer scores, ceiling, per-layer MAD over subjects)} of every
    brain result with layers; the MAD in the scores' units (None where the result has none)."""
    import json

    from brainalign.app.results import layer_depths

    curves = {}
    for row in col.rows[col.rows["kind"] == "brain"].itertuples():
        r = json.loads(Path(row.path).read_text())
        layers = r.get("per_layer") or []
        places = layer_depths([x["layer"] for x in layers])
        scale = 1.0 if score == "raw" else (r.get("ceiling") or math.nan)
        points = sorted((p["depth"], layer[score], layer.get("mad")) for layer, p in zip(layers, places)
                        if p["depth"] is not None and layer.get(score) is not None)
        if len(points) >= 2:
            ceiling = r.get("ceiling") if score == "raw" else 1.0
            mads = [None if m is None else m / scale for _, _, m in points]
            curves[(row.dataset, row.model)] = ([d for d, _, _ in points], [v for _, v, _ in points], ceiling,
                                                mads if any(m is not None for m in mads) else None)
    return curves
