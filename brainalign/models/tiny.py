"""Tiny random GPT-2 / Llama / T5 models, built offline in a second.

They keep every code path of the real families testable without weights: the tokenizer is trained
in-process on the Python reference manual that ships with CPython.
"""

from pathlib import Path

FAMILIES = ("gpt2", "llama", "t5")


def _lines():
    from pydoc_data.topics import topics

    return [line.strip() for block in topics.values() for line in block.splitlines() if len(line.split()) >= 4]


def _bpe(vocab, special):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_lines(), trainer)
    return tok


def _unigram(vocab):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab, unk_token="<unk>", show_progress=False,
                                      special_tokens=["<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(_lines(), trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return tok


def build_tiny(family: str, out: Path, vocab: int = 2048, d: int = 64, layers: int = 2, heads: int = 4,
               positions: int = 256, seed: int = 0) -> Path:
    """Write a tiny random model + tokenizer of `family` into `out` and return the folder."""
    import torch
    from tokenizers import processors
    from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                              PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration)

    torch.manual_seed(seed)
    out = Path(out)
    if family == "gpt2":
        eos = "<|endoftext|>"
        tok = PreTrainedTokenizerFast(tokenizer_object=_bpe(vocab, [eos]), bos_token=eos, eos_token=eos,
                                      unk_token=eos, pad_token=eos)
        i = tok.convert_tokens_to_ids(eos)
        model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=positions, n_embd=d, n_layer=layers,
                                           n_head=heads, bos_token_id=i, eos_token_id=i, pad_token_id=i))
    elif family == "llama":
        bpe = _bpe(vocab, ["<unk>", "<s>", "</s>"])
        bpe.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
        tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                      pad_token="</s>")
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=len(tok), hidden_size=d, intermediate_size=4 * d, num_hidden_layers=layers,
            num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=positions,
            bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=True))
    elif family == "t5":
        tok = PreTrainedTokenizerFast(tokenizer_object=_unigram(vocab), eos_token="</s>", unk_token="<unk>",
                                      pad_token="<pad>")
        tok.model_max_length = positions
        model = T5ForConditionalGeneration(T5Config(
            vocab_size=len(tok), d_model=d, d_kv=d // heads, d_ff=4 * d, num_layers=layers,
            num_decoder_layers=layers, num_heads=heads, relative_attention_num_buckets=16,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    else:
        raise ValueError(f"unknown tiny family {family!r}; choose one of {FAMILIES}")
    if family != "t5":
        tok.model_max_length = positions
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_tiny_bert(out: Path, vocab: int = 2048, d: int = 64, layers: int = 2, heads: int = 4,
                    positions: int = 256, seed: int = 0) -> Path:
    """A tiny random BertForMaskedLM with a WordPiece tokenizer ([CLS] ... [SEP]) in `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.decoder = decoders.WordPiece()
    wp.train_from_iterator(_lines(), trainers.WordPieceTrainer(vocab_size=vocab, special_tokens=specials,
                                                                 show_progress=False))
    cls, sep = wp.token_to_id("[CLS]"), wp.token_to_id("[SEP]")
    wp.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                      special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok = PreTrainedTokenizerFast(tokenizer_object=wp, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                  sep_token="[SEP]", mask_token="[MASK]")
    tok.model_max_length = positions
    model = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=d, num_hidden_layers=layers,
                                       num_attention_heads=heads, intermediate_size=4 * d,
                                       max_position_embeddings=positions, pad_token_id=0))
    out = Path(out)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_all(out, families=FAMILIES, force: bool = False) -> dict[str, Path]:
    """Build (or keep, unless `force`) every family's tiny model under `out`; return {family: folder}."""
    import os

    out = Path(os.path.expanduser(str(out)))
    done = {}
    for family in families:
        folder = out / family
        if force or not (folder / "config.json").exists():
            build_tiny(family, folder)
        done[family] = folder
    return done
