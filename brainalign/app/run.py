"""What `python main.py` runs: task dispatch and what the user sees. The scoring itself is
brainalign/scoring.py; the checks before any work are brainalign/config/checks.py."""

import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

from brainalign.app import results, sweep, tracking
from brainalign.errors import BrainalignError, ConfigError, not_writable
from brainalign.plumbing.locks import folder_lock
from brainalign.app.array_files import save_arrays
from brainalign.app.comparison_files import save_comparison_arrays
from brainalign.scoring import cache_dir, describe, output_dir, score_model, settings_key



def score(cfg) -> dict:
    out = output_dir(cfg)
    info = describe(cfg)
    info["settings_key"] = settings_key(info)
    with folder_lock(out):  # a concurrent run of the same folder waits here, then skips or refuses
        stored = results.read(out)
        if stored is not None and not cfg.force:
            if stored.get("settings_key") != info["settings_key"]:
                raise ConfigError(f"{out / results.RESULT} holds a result computed with other settings; "
                                  "force=true overwrites it, or choose another results_dir")
            print(f"[brainalign] already done (force=true recomputes): {score_line(stored)}\n"
                  + "".join(f"  {note}\n" for note in missing_ceilings(stored)) + f"  results: {out / results.RESULT}")
            sweep.note("skipped")
            return stored
        run_id, replaces = info["settings_key"], None
        if stored is not None:   # force=true: a new W&B run that names the one it replaces
            replaces = stored.get("wandb_id") or stored.get("settings_key")
            run_id = f"{run_id}-{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
        info["wandb_id"] = run_id
        with tracking.start(cfg, out, job_type="score", run_id=run_id, replaces=replaces) as tracker:
            result = score_model(cfg.model, cfg.dataset, cfg.metric, cache_dir(cfg), cfg.device, cfg.progress)
            for arrays in (result.pop("comparison", None) or {}).values():   # comparison_<protocol>.npz
                save_comparison_arrays(out, **arrays)
            for name, arrays in (result.pop("arrays", None) or {}).items():   # e.g. voxelwise.npz
                save_arrays(out, name, arrays)
            draw = result.pop("draw", None)   # figures drawn beside the result (voxelwise maps)
            if draw is not None:
                result["figures"] = [p.name for p in draw(out)]
            result = {**info, **result}
            results.write(out, result)
            tracker.log_result(result, out)
    print(summary_text(result, out))
    return result


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def score_line(result: dict) -> str:
    """One line: model, dataset, metric, the score and the best layer."""
    line = (f"{result['model']['name']} on {result['dataset']} ({result['metric']}): raw {_fmt(result.get('raw'))}, "
            f"ceiled {_fmt(result.get('ceiled'))}")
    if result.get("best_layer"):
        line += f", best layer {result['best_layer']}"
    return line


def missing_ceilings(result: dict) -> list:
    """One line per ceiling that could not be had: why, and how to get it."""
    sources = result.get("ceiling_source")
    sources = sources if isinstance(sources, list) else [sources]
    return [f"no ceiling {s.get('file', '')}, ceiled is null: {s['reason']}" for s in sources
            if isinstance(s, dict) and s.get("kind") == "missing"]


def summary_text(result: dict, out: Path) -> str:
    lines = [f"\n{result['model']['name']} on {result['dataset']} ({result['metric']})"
             + ("  [SYNTHETIC data]" if result.get("synthetic") else "")
             + (f"  [SUBSET: {result['subset']}]" if result.get("subset") else "")]
    layers = result.get("per_layer") or []
    if layers:
        lines.append(f"  {'layer':<44} {'raw r':>8} {'ceiled':>8}")
        for i, row in enumerate(layers):
            mark = " <- best" if i == result["best_layer_index"] else ""
            lines.append(f"  {row['layer']:<44} {row['raw']:>8.4f} {_fmt(row['ceiled']):>8}{mark}")
        lines.append(f"  best layer: {result['best_layer']} (raw {_fmt(result['raw'])}, ceiled {_fmt(result['ceiled'])}, "
                     f"ceiling {_fmt(result['ceiling'])}); cross-validated choice: raw {_fmt(result['raw_cv'])}")
    else:
        lines.append(f"  raw {_fmt(result['raw'])}, ceiled {_fmt(result.get('ceiled'))}, ceiling {_fmt(result.get('ceiling'))}"
                     + (f"  ({result['unit']})" if result.get("unit") else ""))
        if result.get("n_words") and result.get("rvalue") is not None:   # what a reading-time score is
            lines.append(f"  raw = |r| of surprisal with mean reading time over {result['n_words']:,} words "
                         f"(r = {result['rvalue']:+.4f}, p = {result['pvalue']:.2g}); ceiling: "
                         f"{result.get('ceiling_source') or 'none'}")
    protocols = result.get("protocols") or {}
    if len(protocols) > 1:   # the flat keys above are the first protocol's; each one's best, confound-controlled too
        lines += [f"  protocol {name}: best layer {p['best_layer']} (raw {_fmt(p['raw'])}, "
                  f"ceiled {_fmt(p['ceiled'])}); cross-validated choice: raw {_fmt(p['raw_cv'])}"
                  for name, p in protocols.items()]
    if "planted_layer" in result and result["planted_layer_index"] == 0:   # a one-layer baseline: no choice to make
        lines.append(f"  planted signal in {result['planted_layer']}, its only layer (raw {result['planted_raw']:.4f}; "
                     f"shuffled responses {result['shuffled_control_raw']:.4f}): no layer choice to recover")
    elif "planted_layer" in result:
        lines.append(f"  planted signal in {result['planted_layer']} (raw {result['planted_raw']:.4f}; best layer before "
                     f"it {result['best_raw_before_planted']:.4f}; shuffled responses {result['shuffled_control_raw']:.4f}): "
                     f"{'recovered' if result['recovered'] else 'NOT recovered'}")
    if result.get("score_over"):   # the summary score is not the per-layer mean (voxelwise results)
        counts = result.get("voxel_summary") or {}
        lines.append(f"  raw and ceiled over the {result['score_over']} ({counts.get('n_significant')} of "
                     f"{counts.get('n_voxels')} voxels); the rows above: mean r over all voxels")
    lines += [f"  {note}" for note in missing_ceilings(result)]
    lines += [f"  figure: {out / name}" for name in result.get("figures") or []]
    lines.append(f"  results: {out / results.RESULT}")
    return "\n".join(lines)


def run(cfg):
    from brainalign.config.checks import check

    check(cfg)
    task = cfg.task
    if task == "score":
        return score(cfg)
    if task == "analyze":
        from brainalign.analysis import run as analyze

        return analyze(cfg)
    if task == "finetune":
        import finetune

        return finetune.run(cfg, output_dir(cfg))
    if task == "plan":  # main.py plans before Hydra starts; this is for a config composed elsewhere
        from brainalign.app import plan

        return plan.run(cfg)
    raise ConfigError(f"task={task!r}; choose one of score, analyze, finetune, plan")


def main_job(cfg):
    """Run one job; a user error is printed without traceback and recorded, and a sweep goes on."""
    from brainalign.plumbing import interrupt
    from brainalign.config import quiet_libraries

    quiet_libraries()
    interrupt.install()
    multirun = _is_multirun()
    try:
        return run(cfg)
    except (KeyboardInterrupt, interrupt.Interrupted) as e:
        stopped = interrupt.as_interrupted(e)
        _record(cfg, stopped, with_traceback=False, message=stopped.message())
        print(f"[brainalign] {stopped.message()}", file=sys.stderr)
        sys.exit(stopped.code)
    except BrainalignError as e:
        _user_error(cfg, e, multirun)
    except Exception as e:
        if (user := not_writable(e)) is not None:
            _user_error(cfg, user, multirun)
            return None
        _record(cfg, e, with_traceback=True)
        if not multirun:
            raise
        # the sweep goes on; its summary names this job, failed.json keeps the traceback
        print(f"[brainalign] error: {sweep.explain(e)} (its traceback: {output_dir(cfg) / results.FAILED})",
              file=sys.stderr)
    return None


def _user_error(cfg, err: BrainalignError, multirun: bool) -> None:
    _record(cfg, err, with_traceback=False)
    print(f"[brainalign] error: {err}", file=sys.stderr)
    if not multirun:
        sys.exit(2)


def _is_multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except (ValueError, ImportError):
        return False


def _record(cfg, err: BaseException, with_traceback: bool, message: str | None = None) -> None:
    sweep.note_failure(err)
    try:
        info = {"error": type(err).__name__, "message": message or str(err),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if with_traceback:
            info["traceback"] = traceback.format_exc()
        results.write_failure(output_dir(cfg), info)
    except Exception:  # recording must never hide the error itself
        pass
