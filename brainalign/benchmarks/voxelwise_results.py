"""The voxelwise result's ceilings, significance and summary score, at the best layer (docs/naturalistic.md).

Per subject: p of each voxel by block permutation of its held-out series (every held-out story, each
predicted by the fit that held it out, one after the other), Benjamini-Hochberg across the subject's
voxels, and the ceiling of each voxel: LeBel's explainable variance of the repeated test story (r is
computed against the mean of the repeats), Narratives' group-mean ceiling from the subjects' ISC.

The summary score: `raw` is the mean held-out r over the FDR-significant voxels, `ceiled` the mean of
r / ceiling over those of them with a ceiling (each a mean over subjects); null where no voxel is
significant. The per-layer rows stay the mean r over all voxels (they choose the best layer).
"""

import math

import numpy as np

from brainalign.metrics.voxelwise_significance import repeat_ceiling, story_group_ceiling, voxel_significance

SCORE_OVER = "FDR-significant voxels (q < {q}) of the best layer: raw = mean r, ceiled = mean r / ceiling"


def _ceiling(data, subject, held_out):
    """(ceiling [V] or None, its source, extra arrays) for one subject's held-out stories."""
    reps = data.repeats.get(subject, {})
    if reps and all(s in reps for s in held_out) and len({reps[s].shape[0] for s in held_out}) == 1:
        ceiling, ev = repeat_ceiling(np.concatenate([reps[s] for s in held_out], axis=1))
        return ceiling, {"kind": "explainable variance", "file": "voxelwise.npz (<subject>/ev, <subject>/ceiling)",
                         "reason": f"repeats of {held_out}; ceiling of r with their mean (Spearman-Brown)"}, {"ev": ev}
    if data.by_subject:
        stories = {s: np.stack(list(per.values())) for s, per in data.by_subject.items()}
        ceiling = story_group_ceiling(stories)
        if ceiling is not None:
            return ceiling, {"kind": "inter-subject", "file": "voxelwise.npz (<subject>/ceiling)",
                             "reason": "leave-one-subject-out ISC -> ceiling of r with the mean of the story's subjects"}, {}
        return None, {"kind": "missing", "file": "for voxelwise scores",
                      "reason": "every story was heard by one subject only: no inter-subject ceiling"}, {}
    return None, {"kind": "missing", "file": "for voxelwise scores",
                  "reason": f"the held-out stories {held_out} have no stored repeats: no explainable variance"}, {}


def _plain(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def significance(data, arrays: dict, folds: list, metric_cfg) -> dict:
    """Adds each subject's per-voxel arrays to `arrays` (keys '<subject>/p', 'p_fdr', 'significant',
    'ceiling', 'ceiled_r', 'ev'); returns the result's fields (raw, ceiled, ceiling, ceiling_source, voxel_summary)."""
    m = metric_cfg
    held_out = [s for _, test in folds for s in test]
    best = int(arrays["best_layer"])
    per_subject, sources, ceilings = {}, [], []
    for subject in data.responses:
        r = arrays[f"{subject}/r"][best].astype(np.float64)
        y_true = np.concatenate([arrays[f"{subject}/response/{s}"] for s in held_out])
        y_pred = np.concatenate([arrays[f"{subject}/prediction/{s}"] for s in held_out])
        ceiling, source, extra = _ceiling(data, subject, held_out)
        voxel, summary = voxel_significance(r, y_true, y_pred, ceiling, block=int(m.block), n_perm=int(m.n_perm),
                                            q=float(m.fdr_q), seed=int(m.perm_seed))
        arrays.update({f"{subject}/{k}": v for k, v in {**voxel, **extra}.items()})
        per_subject[subject] = {k: _plain(v) for k, v in summary.items() if k not in ("score", "score_over")}
        sources.append(source)
        if ceiling is not None:
            shown = voxel["significant"] & np.isfinite(ceiling)
            ceilings.append(float(ceiling[shown].mean()) if shown.any() else None)
    raw = _mean([s["mean_r_significant"] for s in per_subject.values()])
    ceiled = _mean([s.get("mean_ceiled_r_significant") for s in per_subject.values()])
    return dict(
        raw=raw, ceiled=ceiled, ceiling=_mean(ceilings),
        ceiling_source=sources[0] if len({str(s) for s in sources}) == 1 else sources,
        voxel_summary=dict(score_over=SCORE_OVER.format(q=float(m.fdr_q)),
                           n_voxels=sum(s["n_voxels"] for s in per_subject.values()),
                           n_significant=sum(s["n_significant"] for s in per_subject.values()),
                           block=int(m.block), n_perm=int(m.n_perm), fdr_q=float(m.fdr_q),
                           per_subject=per_subject))
