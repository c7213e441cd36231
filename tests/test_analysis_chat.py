"""The analysis of one model scored on raw text and with its chat template (model.chat_template=user):
results produced by the scoring on a tiny model that has a chat template."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from brainalign.analysis import collect, run
from brainalign.app.comparison_files import compare_files
from brainalign.app.run import run as score
from fixtures_data import write_assembly

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


pytestmark = pytest.mark.usefixtures("few_bootstrap_samples")  # conftest: 20 samples, 5 assignments


@pytest.fixture(scope="module")
def chat_model(tiny_models, tmp_path_factory):
    """The tiny random llama with a ChatML chat template (the tiny models have none)."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat") / "llama"
    shutil.copytree(tiny_models["llama"], folder)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = CHATML
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_chat(chat_model):
    """Overrides for an instruction-tuned tiny model whose vanilla pair is tiny-gpt2."""
    return ["model=tiny-llama", f"model.path={chat_model}", "model.name=tiny-chat", "model.instruction_tuned=true",
            "model.pair=tiny-gpt2"]


def stored(folder):
    return json.loads((folder / "result.json").read_text())


def test_the_chat_result_is_a_variant_of_its_model_compared_with_its_raw_text_result(make_config, tiny_chat,
                                                                                      tiny_gpt2, tmp_path):
    out = tmp_path / "out"
    score(make_config(*tiny_chat))
    score(make_config(*tiny_chat, "model.chat_template=user"))
    score(make_config(*tiny_gpt2))
    none, user = stored(out / "tiny-chat" / "synthetic" / "linear"), stored(out / "tiny-chat-chat-user" / "synthetic" / "linear")
    assert (none["model"]["chat_template"], user["model"]["chat_template"]) == ("none", "user")

    col = collect(out)   # neither mixed with the raw result nor refused as a second result of one run
    assert sorted(col.rows["model"]) == ["tiny-chat", "tiny-gpt2"] and list(col.chat["model"]) == ["tiny-chat"]
    assert col.table().loc["tiny-chat", "synthetic"] == pytest.approx(none["raw"])
    assert list(col.models.index) == ["tiny-chat", "tiny-gpt2"]

    result = run(out, tmp_path / "an", figures=False)
    pairs = result["pairs"]   # the chat result is no model of its own in the instruction-tuning pairs
    assert list(pairs["model"]) == ["tiny-chat"] and pairs["it"].iloc[0] == pytest.approx(none["raw"])
    table = result["chat_template"]
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["model"], row["dataset"], row["protocol"]) == ("tiny-chat", "synthetic", "shuffle")
    assert row["none"] == pytest.approx(none["protocols"]["shuffle"]["raw"])
    assert row["user"] == pytest.approx(user["protocols"]["shuffle"]["raw"])
    assert row["difference"] == pytest.approx(user["raw"] - none["raw"]) and row["difference"] != 0
    assert pd.isna(row["paired_difference"])   # the synthetic benchmark keeps no comparison arrays
    csv = pd.read_csv(tmp_path / "an" / "chat_template.csv")
    assert csv["difference"].iloc[0] == pytest.approx(row["difference"])
    text = result["report"].read_text()
    assert "## Is it language? Raw text vs the chat template" in text and "Chat-template results" in text
    assert f"| tiny-chat | True | synthetic | shuffle | {none['raw']:.4f} | {user['raw']:.4f} |" in text
    assert "not scored against the same responses" in text   # synthetic: planted in each run's own features
    assert "No pair kept comparison arrays" in text


def test_without_a_raw_text_result_the_section_says_how_to_get_one(make_config, tiny_chat, tmp_path):
    score(make_config(*tiny_chat, "model.chat_template=user"))
    result = run(tmp_path / "out", tmp_path / "an", figures=False)   # only a chat result: no crash
    assert result["chat_template"].empty and result["collected"].rows.empty
    text = result["report"].read_text()
    section = text.split("## Is it language? Raw text vs the chat template", 1)[1].strip().splitlines()
    assert section[0].startswith("_No model has both") and "model.chat_template=user" in section[0]
    assert section[2] == "Chat-template results without a raw-text one: tiny-chat on synthetic."
    assert (tmp_path / "an" / "chat_template.csv").exists()


def test_results_without_a_chat_template_leave_one_line(tmp_path):
    from test_analysis import write

    write(tmp_path / "r", "t5-small", "pereira", 0.2)   # a result from before the option: raw text
    result = run(tmp_path / "r", tmp_path / "an", figures=False)
    assert result["chat_template"].empty and result["collected"].chat.empty
    section = result["report"].read_text().split("## Is it language? Raw text vs the chat template", 1)[1]
    lines = [line for line in section.split("\n## ", 1)[0].splitlines() if line]
    assert len(lines) == 1 and "python main.py model=<m> model.chat_template=user" in lines[0]


def tuckute_like(path, model_folder, n=200, subjects=3, per_subject=4, seed=0):
    """A Tuckute2024-layout file (each sentence alone) whose responses are planted in the raw-text
    features of the model's last block: the raw-text result should then beat the chat-template one."""
    from brainalign.activations.extract import extract
    from brainalign.config.presets import load_preset
    from brainalign.models.load import load_model

    cfg = load_preset("model", "tiny-llama", resolve_paths=True)
    cfg.merge_with({"path": str(model_folder), "layers": ["blocks"]})
    sentences = [f"{NAMES[i % 8]} {VERBS[(i // 8) % 5]} the {THINGS[(i // 40) % 5]} on day {i}." for i in range(n)]
    features = extract(load_model(cfg), [[s] for s in sentences], layers=["blocks"], progress=False).values[-1]
    rng = np.random.default_rng(seed)
    signal = (features - features.mean(0)) / features.std(0)
    responses = signal @ rng.standard_normal((signal.shape[1], subjects * per_subject)) / np.sqrt(signal.shape[1])
    responses += 0.1 * rng.standard_normal(responses.shape)
    stimuli = pd.DataFrame({"stimulus_id": np.arange(n), "stimulus": sentences})
    neuroids = pd.DataFrame({"neuroid_id": np.arange(subjects * per_subject),
                             "subject_UID": np.repeat([f"s{k}" for k in range(subjects)], per_subject)})
    return write_assembly(path, responses, stimuli, neuroids)


NAMES = ["Alex", "Mary", "John", "Anna", "Peter", "Lucy", "Sam", "Kate"]
VERBS = ["painted", "sold", "found", "carried", "cleaned"]
THINGS = ["fence", "boat", "lamp", "table", "garden"]


@pytest.mark.slow
def test_paired_difference_interval_and_p_per_protocol(make_config, tiny_chat, chat_model, tmp_path):
    """A brain benchmark (Tuckute2024's layout) keeps comparison arrays per protocol: each row gets the
    paired difference of brainalign.metrics.compare with its interval and p."""
    path = tuckute_like(tmp_path / "tuckute.nc", chat_model)
    data = ["dataset=tuckute2024", f"dataset.path={path}", "metric.cv=[shuffle,contiguous]"]
    score(make_config(*tiny_chat, *data))
    score(make_config(*tiny_chat, *data, "model.chat_template=user"))
    folders = [next((tmp_path / "out" / m / "tuckute2024").iterdir()) for m in ("tiny-chat", "tiny-chat-chat-user")]
    none, user = (stored(f) for f in folders)
    assert sorted(none["protocols"]) == ["contiguous", "shuffle"] and len(list(folders[0].glob("comparison_*.npz"))) == 2
    table = run(tmp_path / "out", tmp_path / "an", figures=False)["chat_template"].set_index("protocol")
    assert sorted(table.index) == ["contiguous", "shuffle"]
    for protocol, row in table.iterrows():
        assert row["difference"] == pytest.approx(user["protocols"][protocol]["raw"] - none["protocols"][protocol]["raw"])
        c = compare_files(folders[1], folders[0], protocol=protocol)   # user - none, as the table
        assert row["paired_difference"] == pytest.approx(c.difference) and row["n_subjects"] == 3
        assert row["low"] <= row["paired_difference"] <= row["high"] and 0 < row["p"] <= 1
        assert row["method"] == "dual bootstrap"
        # no ceiling: the benchmark's score is the raw one, so both routes give one difference
        assert row["paired_difference"] == pytest.approx(row["difference"], abs=1e-6)
        # the signal is planted in the raw-text features (with 3 subjects the t has 2 degrees of
        # freedom, docs/statistics.md, so only the sign and the interval are asked here)
        assert row["paired_difference"] < 0 and row["low"] < row["paired_difference"] < row["high"]
    text = (tmp_path / "an" / "report.md").read_text()
    assert "| tiny-chat | True | tuckute2024 | contiguous |" in text and "User turn higher in 0 of 2" in text
