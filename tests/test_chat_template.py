"""model.chat_template=user: each context as a user turn of the model's own chat template (real SmolLM2)."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from brainalign.activations.cache import feature_key
from brainalign.activations.extract import extract
from brainalign.errors import ConfigError
from brainalign.models.load import fingerprint
from brainalign.models.presentation import chat_head

PASSAGE = [["The kettle boiled.", "The cook poured the tea.", "Everyone sat down."]]


@pytest.fixture
def chat(smollm2):
    cfg = OmegaConf.merge(smollm2.cfg, {"chat_template": "user"})
    smollm2.cfg, original = cfg, smollm2.cfg
    yield smollm2
    smollm2.cfg = original


def test_chat_template_is_a_setting_of_the_features_and_of_the_folder(make_config, tmp_path):
    plain = make_config().model
    user = make_config("model.chat_template=user").model
    assert fingerprint(plain) != fingerprint(user)
    assert feature_key(fingerprint(plain), [["a"]], ["blocks"], True) != feature_key(fingerprint(user), [["a"]],
                                                                                     ["blocks"], True)
    from brainalign.app.run import output_dir

    assert output_dir(make_config("model.chat_template=user")).parts[-3] == "smollm2-135m-chat-user"
    assert output_dir(make_config()).parts[-3] == "smollm2-135m"


@pytest.mark.slow
def test_user_turn_features_are_read_at_the_last_token_of_the_users_text(chat):
    head = chat_head(chat)
    assert head.endswith("<|im_start|>user\n")
    feats = extract(chat, PASSAGE, layers=["blocks"], progress=False).values  # [layers, 3, d]
    # the whole template, trailer included, run once: the last user token's state is the same
    context = "The kettle boiled. The cook poured the tea."
    rendered = chat.tokenizer.apply_chat_template([{"role": "user", "content": context}], tokenize=False)
    ids = chat.encode(rendered)
    upto = len(chat.encode(head + context))
    assert ids[:upto] == chat.encode(head + context) and len(ids) > upto  # the trailer follows
    with torch.no_grad():
        hidden = chat.model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    last = hidden[11][0, upto - 1].numpy()  # block 10's output (hidden_states[0] is the embedding)
    np.testing.assert_allclose(feats[10, 1], last, rtol=1e-4, atol=1e-4 * np.abs(last).max())
    chat.cfg = OmegaConf.merge(chat.cfg, {"chat_template": "none"})
    plain = extract(chat, PASSAGE, layers=["blocks"], progress=False).values
    assert np.abs(plain - feats).max() > 1e-2  # the template changes what the model represents


@pytest.mark.slow
def test_unknown_mode_is_a_config_error(chat):
    chat.cfg = OmegaConf.merge(chat.cfg, {"chat_template": "system"})
    with pytest.raises(ConfigError, match="chat_template"):
        chat_head(chat)
