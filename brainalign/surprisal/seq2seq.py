"""Surprisal from an encoder-decoder (T5), two ways.

`study` -- the way Aw et al. scored T5 (Brain-Score PR #194): the tokenized context (ending in
    `</s>`) goes to the encoder AND, unshifted, to the decoder (`decoder_input_ids = input_ids`), and
    Brain-Score's causal read-out is applied to the decoder's logits. The encoder therefore reads the
    word being predicted, and cross-attention can copy it: the "surprisal" leaks the answer. Because
    the context ends in `</s>`, the tokens scored for a word are also shifted by one: the word's
    2nd..last tokens plus the `</s>` after it, each predicted by a decoder that has already seen the
    token before it. Kept for reproduction only; per-word re-runs (`exact`) only, since a window over
    many words would let the encoder see even more of the future.

`shifted` -- a leak-free read-out: the encoder gets an empty input (just `</s>`), the decoder gets
    the text shifted right behind T5's decoder start token and predicts every token, exactly as it
    does in training with `labels`. Nothing about a word reaches the model before it is predicted, so
    this is an ordinary left-to-right LM surprisal and works with both `exact` and `fast`.
"""

from brainalign.surprisal.scorer import Scorer
from brainalign.surprisal.words import Tokens, tokenize


class T5Study(Scorer):
    name = "t5-study"
    supports_fast = False

    def tokens(self, text: str) -> Tokens:
        return tokenize(self.lm.tokenizer, text)  # the tokenizer's own specials: text + </s>

    def logits(self, batch, keep: int):
        return self.lm.model(input_ids=batch, decoder_input_ids=batch).logits[:, -keep:]

    def describe(self) -> str:
        return ("T5 as in the study (PR #194): encoder and decoder both fed the context incl. the current "
                "word and </s>, decoder unshifted; leaks the word being predicted")


class T5Shifted(Scorer):
    name = "t5-shifted"

    def __init__(self, lm, window=None):
        super().__init__(lm, window)
        config = lm.model.config
        start = config.decoder_start_token_id
        self.start_id = start if start is not None else config.pad_token_id
        self.source = tokenize(lm.tokenizer, "").ids or [config.eos_token_id]

    def tokens(self, text: str) -> Tokens:
        return tokenize(self.lm.tokenizer, text, prefix_ids=[self.start_id], keep_suffix=False)

    def logits(self, batch, keep: int):
        import torch

        source = torch.tensor([self.source], device=batch.device).expand(batch.shape[0], -1)
        return self.lm.model(input_ids=source, decoder_input_ids=batch).logits[:, -keep:]

    def describe(self) -> str:
        return ("T5 without leak: empty encoder input, decoder fed the text shifted right behind the "
                "decoder start token, every token predicted left to right")


T5_MODES = {"study": T5Study, "shifted": T5Shifted}
