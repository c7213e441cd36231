"""A small demo data set the project builds itself: short passages and simulated voxels.

The responses come from a hidden linear map of one layer of the model under test plus Gaussian
noise, so a working pipeline must find that layer and
score close to the known noise ceiling, while shuffled responses score near zero. Every output
of it is labelled "synthetic".
"""

import numpy as np
import pandas as pd

TOPICS = {
    "garden": (["gardener", "rose", "tomato plant", "old shed", "watering can"], ["grew", "wilted", "needed water", "was moved", "bloomed"],
               ["in the sun", "after the rain", "by the fence", "in early spring", "near the pond"]),
    "harbour": (["fisherman", "small boat", "lighthouse", "crane", "cargo ship"], ["arrived", "left at dawn", "was repaired", "rocked", "waited"],
                ["in the storm", "at high tide", "by the pier", "under grey clouds", "before noon"]),
    "kitchen": (["cook", "kettle", "bread", "soup", "knife"], ["was ready", "boiled", "smelled good", "was sliced", "cooled"],
                ["on the stove", "for dinner", "in the oven", "by the window", "after lunch"]),
    "school": (["teacher", "student", "exam", "library", "lesson"], ["began", "was difficult", "ended early", "was quiet", "surprised everyone"],
               ["on Monday", "in the hall", "before the holidays", "after the bell", "in the morning"]),
    "mountain": (["climber", "glacier", "trail", "cabin", "eagle"], ["was steep", "melted", "circled", "froze", "was hidden"],
                 ["above the valley", "in the snow", "at sunrise", "near the summit", "in thick fog"]),
    "market": (["merchant", "apple seller", "crowd", "price of grain", "stall"], ["rose", "shouted", "was busy", "fell", "closed"],
               ["on Saturday", "in the square", "at closing time", "during the fair", "by the gate"]),
    "hospital": (["nurse", "doctor", "patient", "ambulance", "waiting room"], ["was calm", "arrived quickly", "recovered", "was full", "listened"],
                 ["at night", "after surgery", "in the ward", "during the storm", "before visiting hours"]),
    "orchestra": (["violinist", "conductor", "drummer", "audience", "old piano"], ["played softly", "bowed", "applauded", "was out of tune", "rehearsed"],
                  ["in the concert hall", "before the show", "at the finale", "during the pause", "on opening night"]),
}
TEMPLATES = ["The {noun} {verb} {where}.", "Everyone said the {noun} {verb} {where}.", "Later, the {noun} {verb} {where}.",
             "Nobody expected that the {noun} {verb} {where}.", "Once again the {noun} {verb} {where}."]


def synthetic_stimuli(n_passages: int = 40, sentences: int = 5, seed: int = 0) -> pd.DataFrame:
    """Short passages of template sentences on a few topics, one row per sentence."""
    rng = np.random.default_rng(seed)
    topics = sorted(TOPICS)
    rows = []
    for p in range(n_passages):
        topic = topics[p % len(topics)]
        nouns, verbs, places = TOPICS[topic]
        for s in range(sentences):
            text = TEMPLATES[rng.integers(len(TEMPLATES))].format(
                noun=nouns[rng.integers(len(nouns))], verb=verbs[rng.integers(len(verbs))], where=places[rng.integers(len(places))])
            rows.append({"stimulus_id": f"synthetic.{p}.{s}", "text": text, "passage": f"{p:03d}.{topic}",
                         "story": topic, "sentence_num": s})
    return pd.DataFrame(rows)


def plant_responses(features: np.ndarray, n_subjects: int = 4, voxels_per_subject: int = 60, noise: float = 1.0,
                    seed: int = 0) -> tuple[np.ndarray, pd.DataFrame, float]:
    """Responses = (standardised `features`) @ W + noise, with W random over every feature.

    A map over all features, not only the leading directions that neighbouring layers share, makes
    the planted layer the best predictor of its own signal. Each voxel's signal is scaled to unit
    variance, so a perfect model's expected r is 1/sqrt(1 + noise^2); that value is the ceiling.
    """
    rng = np.random.default_rng(seed)
    f = features - features.mean(0)
    f = f / (f.std(0) + 1e-8)
    n_vox = n_subjects * voxels_per_subject
    signal = f @ rng.standard_normal((f.shape[1], n_vox))
    signal = (signal - signal.mean(0)) / (signal.std(0) + 1e-12)
    responses = signal + noise * rng.standard_normal(signal.shape)
    neuroids = pd.DataFrame({"subject": np.repeat([f"sim{i}" for i in range(n_subjects)], voxels_per_subject),
                             "voxel": np.tile(np.arange(voxels_per_subject), n_subjects)})
    neuroids["neuroid_id"] = neuroids["subject"] + "." + neuroids["voxel"].astype(str)
    return responses, neuroids, float(1 / np.sqrt(1 + noise**2))
