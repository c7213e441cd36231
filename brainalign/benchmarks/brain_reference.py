"""The brain-to-brain reference (`model=brain-to-brain`): how well each subject's responses are predicted
from the other subjects' responses to the same stimuli, with the run's metric and protocol.

The features of a subject's neuroids are the other subjects' responses, concatenated (every neuroid of
every other subject a column). Averaging over subjects is not an option: voxels and electrodes are
each subject's own, with no correspondence across subjects. Concatenating is also what Brain-Score's
inter-subject ceiling feeds its metric (the pool of the held-out subjects). The per-subject scores
are assembled into one split x neuroid table and aggregated like a model's (median over neuroids per
split, mean over splits), so the result reads like a model score on the same scale: a reference for
what a model could reach (docs/controls.md).

The data set must have two subjects at least; the metric must score each neuroid (linear, ridge,
banded; not the similarity indices cka / rdm, which pool them).
"""

from dataclasses import replace

import numpy as np

from brainalign.errors import ConfigError

MODEL = "brain-to-brain"       # conf/model/brain-to-brain.yaml: the analysis draws it as a reference
BASELINE = "brain_to_brain"    # its model.baseline
LAYER = "other-subjects"       # the reference's one pseudo-layer


def is_reference(model_cfg) -> bool:
    return str(model_cfg.get("baseline") or "") == BASELINE


def other_subjects_scores(block, data, metric_cfg, protocol=None, device=None) -> list:
    """[one Score]: each subject's neuroids predicted from the other subjects' columns of block [1, n, neuroids]
    (data.responses as features), with the metric's declared `score` under one protocol."""
    from brainalign import registry
    from brainalign.metrics.score import make_score

    score_layers = registry.metric(metric_cfg.kind).score

    responses = np.asarray(block)[0]
    subjects = np.asarray(data.neuroids["subject"], dtype=str)
    names = np.unique(subjects)
    if len(names) < 2:
        raise ConfigError(f"model=brain-to-brain: {data.name} has {len(names)} subject; it needs two at least")
    r = None
    for subject in names:
        own = subjects == subject
        target = replace(data, responses=data.responses[:, own], neuroids=data.neuroids[own])
        score = score_layers(responses[:, ~own][None], target, metric_cfg, protocol, device)[0]
        if score.per_split_neuroid.shape[1] != own.sum():
            raise ConfigError(f"model=brain-to-brain needs a metric that scores each neuroid (linear, ridge, banded), "
                              f"not metric={metric_cfg.name}")
        if r is None:
            r = np.full((score.per_split_neuroid.shape[0], len(subjects)), np.nan)
        r[:, own] = score.per_split_neuroid
    return [make_score(r, subjects)]


def planted_source(texts: list[list[str]]):
    """Features of the synthetic data set's stimuli when no model is scored: random word embeddings
    (Brain-Score's randomembedding-100, from the text alone), the hidden signal every subject shares."""
    from brainalign.activations.features import Features
    from brainalign.models.baselines import baseline_values

    values, _ = baseline_values("random_embedding", texts)
    return Features(values=values[None], layers=[LAYER])
