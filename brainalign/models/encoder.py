"""Encoder-only (BERT-style) models: `arch: encoder` in a model config.

The checkpoint is loaded with its masked-LM head when it has one (`BertForMaskedLM`); a checkpoint
without one (a sentence-transformer such as all-MiniLM-L6-v2 ships only `BertModel`) is loaded as
the bare encoder and `LoadedModel.mlm_head` is False: its features can be scored on the brain
benchmarks, but it has no pseudo-log-likelihood, so surprisal benchmarks refuse it.
"""

import logging

from brainalign.errors import ModelUnavailable


def load_encoder(cfg, src: dict, dtype, device: str = "cpu"):
    """(model in eval mode on `device`, tokenizer, whether it has a masked-LM head)."""
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    where = src["hub"] or str(src["path"])
    kwargs = {"revision": cfg.revision} if src["hub"] and cfg.revision else {}
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the missing-head warning is expected; we report it ourselves
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
        try:
            model, info = AutoModelForMaskedLM.from_pretrained(where, dtype=dtype, output_loading_info=True, **kwargs)
            head = not info.get("missing_keys")
        except ValueError:  # a config with no masked-LM class at all
            model, head = None, False
        if not head:
            model = AutoModel.from_pretrained(where, dtype=dtype, **kwargs)
    except OSError as e:
        raise ModelUnavailable(f"cannot load encoder {cfg.name!r} from {where}: "
                               f"{type(e).__name__}: {str(e).splitlines()[0][:300]}") from None
    finally:
        hf_logging.set_verbosity(level)
    if getattr(tokenizer, "mask_token_id", None) is None:
        head = False
    if not getattr(tokenizer, "is_fast", False):
        raise ModelUnavailable(f"encoder {cfg.name!r}: needs a fast tokenizer (character offsets)")
    tokenizer.truncation_side = "left"
    model.to(device)
    model.eval()
    logging.getLogger(__name__).info("encoder %s: %s, masked-LM head: %s", cfg.name, type(model).__name__, head)
    return model, tokenizer, head
