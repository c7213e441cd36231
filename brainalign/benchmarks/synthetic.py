"""The embedded default: recover a signal planted in one layer of the model under test."""

from dataclasses import dataclass

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.benchmarks.brain import features_for, score_part, summarize
from brainalign.benchmarks.cost import passage_cost
from brainalign.config.schema import SyntheticConfig
from brainalign.plumbing.profiling import Stages
from brainalign.registry import PERTURBATIONS, BenchmarkSpec, declare


@dataclass
class SyntheticBenchmark:
    cfg: object
    metric_cfg: object
    perturb: object = None  # a datasets.perturb.Perturbation (dataset.perturb): the model reads perturbed text

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.datasets.brain import BrainData
        from brainalign.datasets.synthetic import plant_responses, synthetic_stimuli
        from brainalign.metrics import linear_predictivity
        from brainalign.activations.model import model_features
        from brainalign.benchmarks.brain_reference import is_reference, other_subjects_scores, planted_source
        from brainalign.models.localize import with_language_network

        c, stages = self.cfg, Stages()
        with stages("load"):
            stimuli = synthetic_stimuli(c.n_passages, c.sentences_per_passage, c.seed)
        probe = BrainData("synthetic", stimuli, np.zeros((len(stimuli), 1)),
                          _one_neuroid(), ceiling=1.0, synthetic=True, group_by="passage")
        rows = probe.passages()
        texts = [[stimuli["text"][r] for r in p] for p in rows]
        reference = is_reference(model.cfg)   # model=brain-to-brain: the signal planted from text alone
        with stages("extraction"):
            feats, hit = ((planted_source(texts), True) if reference else
                          model_features(model, texts, ctx.cache_dir, progress=ctx.progress))
        X = np.empty_like(feats.values)
        X[:, np.concatenate(rows)] = feats.values
        planted = min(len(feats.layers) - 1, max(1, int(round(c.planted_depth * (len(feats.layers) - 1)))))
        responses, neuroids, ceiling = plant_responses(X[planted], c.n_subjects, c.voxels_per_subject, c.noise, c.seed)
        data = BrainData("synthetic", stimuli, responses, neuroids, ceiling=ceiling, synthetic=True, group_by="passage")
        if self.perturb is not None:   # responses planted from the intact text; the scored features from the perturbed
            data = self.perturb.apply(data)
            with stages("extraction"):
                X, _, perturbed_hit = features_for(data, model, ctx)
            hit = hit and perturbed_hit
        with stages("metric"):
            scored, layers, localizer = (responses[None], feats.layers, None) if reference else with_language_network(
                X, feats.layers, model, ctx.cache_dir, lambda names: features_for(data, model, ctx, names)[:2])
            result = summarize([score_part(data, scored, self.metric_cfg, device=ctx.device,
                                           score=other_subjects_scores if reference else None)], layers)
            if localizer:
                result["localizer"] = localizer
            shuffled = np.random.default_rng(c.seed).permutation(len(stimuli))
            control = linear_predictivity(X[planted], responses[shuffled])
        before = max((r["raw"] for r in result["per_layer"][:planted]), default=float("nan"))  # one-layer baselines
        result.update(synthetic=True, planted_layer=feats.layers[planted], planted_layer_index=planted,
                      recovered=result["best_layer_index"] == planted,
                      planted_raw=result["per_layer"][planted]["raw"], best_raw_before_planted=before,
                      shuffled_control_raw=float(control.raw),
                      **({"perturb": self.perturb.describe()} if self.perturb is not None else {}),
                      **stages.report(ctx.device, model, features_cached=hit))
        return result


def _one_neuroid():
    import pandas as pd

    return pd.DataFrame({"neuroid_id": ["probe"], "subject": ["probe"]})


def build(dataset_cfg, metric_cfg) -> SyntheticBenchmark:
    return SyntheticBenchmark(dataset_cfg, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    groups = [[8 * tokens_per_word] * int(d.sentences_per_passage) for _ in range(int(d.n_passages))]
    return passage_cost(groups, causal, window, "synthetic stimuli (~8 words each)")


SPEC = declare(BenchmarkSpec(
    name="synthetic", kind="brain", schema=SyntheticConfig, build=build,
    default_metric="linear", subset_keys={"n_passages": 40},
    ceiling="computed", ceiling_missing="the planted signal's own ceiling, from the simulation",
    cost=cost, perturbations=PERTURBATIONS))
