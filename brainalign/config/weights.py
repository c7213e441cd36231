"""The name a model's results carry: its conf/model name tagged with what its weights are (an untrained
init and its seed, a checkpoint revision), so such results never share a folder, a table row or a W&B
run name with the trained model's (docs/controls.md)."""

import re


def revision_tag(revision) -> str:
    """A revision as it appears in a folder name: step1000, checkpoint-40 (other characters become _)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(revision)).strip("._") or "_"


def model_label(name: str, init="pretrained", init_seed=0, revision=None) -> str:
    """The model's name tagged with its weights: gpt2-untrained-s0, pythia-160m-rev-step1000."""
    label = str(name)
    if revision not in (None, "", "None", "null"):
        label += f"-rev-{revision_tag(revision)}"
    if str(init) == "random":
        label += f"-untrained-s{int(init_seed)}"
    return label


def weights_of(m) -> dict:
    """The model's name as its results carry it (gpt2-untrained-s0, pythia-160m-rev-step1000) and, for an
    untrained model or a checkpoint, the conf/model entry it comes from, its init, seed and revision."""
    init, seed, revision = str(m.get("init", "pretrained")), int(m.get("init_seed", 0)), m.get("revision")
    out = {"name": model_label(m.name, init, seed, revision)}
    if out["name"] != m.name:
        out.update(config_name=m.name, init=init, init_seed=seed, revision=revision)
    if m.get("tokens_per_step") is not None:
        out["tokens_per_step"] = float(m.tokens_per_step)
    return out
