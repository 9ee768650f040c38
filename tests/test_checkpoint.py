"""lmcore.checkpoint (chapter 9): lmcore's checkpoints are Hugging Face checkpoints, both ways.

References: transformers' own BertForPreTraining, BertModel and GPT2LMHeadModel, built at
random offline (no download), saved and loaded by transformers itself.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

from lmcore.checkpoint import (CheckpointMismatchError, load_pretrained, load_tokenizer,  # noqa: E402
                               read_safetensors, save_pretrained)
from lmcore.transformer import (BertConfig, BertEncoder, BertForPretraining, GPTConfig,  # noqa: E402
                                GPTDecoder)

TOL = dict(atol=1e-4, rtol=0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")
transformers.logging.set_verbosity_error()


def _bert_config():
    return BertConfig(vocab_size=101, max_positions=32, d_model=32, num_layers=2, num_heads=4,
                      d_ff=48, dropout=0.0)


def _inputs(vocab=101, n=13):
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, vocab, (3, n), generator=g)
    types = torch.cat([torch.zeros(3, n // 2, dtype=torch.long),
                       torch.ones(3, n - n // 2, dtype=torch.long)], dim=1)
    mask = torch.ones(3, n, dtype=torch.long)
    mask[1, -4:] = 0
    return ids, types, mask


def _randomise(model):
    """Random values everywhere (LayerNorms and biases too), so no weight is left at its
    default and a missed or swapped tensor shows in the logits."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (1.0 if p.dim() == 1 else 0.0))
    return model


def test_lmcore_bert_for_pretraining_loads_in_transformers_with_the_same_logits(tmp_path):
    model = _randomise(BertForPretraining(_bert_config())).eval()
    save_pretrained(model, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == [
        "BertForPreTraining"]
    hf, info = transformers.BertForPreTraining.from_pretrained(tmp_path,
                                                               output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    ids, types, mask = _inputs()
    with torch.no_grad():
        ours = model(ids, token_type_ids=types, attention_mask=mask)
        theirs = hf.eval()(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(ours.mlm_logits, theirs.prediction_logits, **TOL)
    torch.testing.assert_close(ours.nsp_logits, theirs.seq_relationship_logits, **TOL)


def test_transformers_bert_for_pretraining_loads_in_lmcore_with_the_same_logits(tmp_path):
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=101, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=48,
                                     max_position_embeddings=32)
    hf = _randomise(transformers.BertForPreTraining(config)).eval()
    hf.save_pretrained(tmp_path)
    model = load_pretrained(tmp_path)
    assert isinstance(model, BertForPretraining) and not model.training
    ids, types, mask = _inputs()
    with torch.no_grad():
        ours = model(ids, token_type_ids=types, attention_mask=mask)
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(ours.mlm_logits, theirs.prediction_logits, **TOL)
    torch.testing.assert_close(ours.nsp_logits, theirs.seq_relationship_logits, **TOL)


def test_bert_encoder_round_trips_as_bert_model(tmp_path):
    model = _randomise(BertEncoder(_bert_config())).eval()
    save_pretrained(model, tmp_path / "ours")
    hf = transformers.BertModel.from_pretrained(tmp_path / "ours").eval()
    ids, types, mask = _inputs()
    with torch.no_grad():
        ours = model(ids, attention_mask=mask, token_type_ids=types)
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(ours.last_hidden_state, theirs.last_hidden_state, **TOL)
    torch.testing.assert_close(ours.pooler_output, theirs.pooler_output, **TOL)
    hf.save_pretrained(tmp_path / "theirs")
    again = load_pretrained(tmp_path / "theirs")
    assert type(again) is BertEncoder
    with torch.no_grad():
        torch.testing.assert_close(again(ids, attention_mask=mask,
                                         token_type_ids=types).last_hidden_state,
                                   ours.last_hidden_state, **TOL)


def test_transformers_gpt2_loads_in_lmcore_and_lmcore_gpt_loads_in_transformers(tmp_path):
    torch.manual_seed(0)
    hf = _randomise(transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=97, n_positions=24, n_embd=32, n_layer=2, n_head=4,
        bos_token_id=None, eos_token_id=None))).eval()
    hf.save_pretrained(tmp_path / "theirs")
    model = load_pretrained(tmp_path / "theirs")
    assert isinstance(model, GPTDecoder) and model.config.positions == "learned"
    ids = torch.randint(0, 97, (2, 24))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), hf(ids).logits, **TOL)

    ours = _randomise(GPTDecoder(GPTConfig(vocab_size=97, max_positions=24, d_model=32,
                                           num_layers=2, num_heads=4, d_ff=40,
                                           dropout=0.0))).eval()
    save_pretrained(ours, tmp_path / "ours")
    back, info = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "ours",
                                                              output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), back.eval()(ids).logits, **TOL)


def test_an_untied_gpt_round_trips(tmp_path):
    ours = _randomise(GPTDecoder(GPTConfig(vocab_size=50, max_positions=16, d_model=16,
                                           num_layers=1, num_heads=2, d_ff=32, dropout=0.0,
                                           tie_embeddings=False))).eval()
    save_pretrained(ours, tmp_path)
    assert "lm_head.weight" in read_safetensors(tmp_path / "model.safetensors")
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    again = load_pretrained(tmp_path)
    ids = torch.randint(0, 50, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), back(ids).logits, **TOL)
        torch.testing.assert_close(ours(ids), again(ids), **TOL)


def test_sinusoidal_positions_cannot_be_saved_as_gpt2(tmp_path):
    model = GPTDecoder(GPTConfig(vocab_size=50, max_positions=16, d_model=16, num_layers=1,
                                 num_heads=2, d_ff=32, positions="sinusoidal"))
    with pytest.raises(ValueError, match="sinusoidal.*cannot represent"):
        save_pretrained(model, tmp_path)
    assert not (tmp_path / "model.safetensors").exists()


def test_a_checkpoint_that_does_not_fit_its_config_names_the_tensors(tmp_path):
    from safetensors.torch import save_file
    model = BertForPretraining(_bert_config())
    save_pretrained(model, tmp_path)
    state = read_safetensors(tmp_path / "model.safetensors")
    del state["cls.seq_relationship.bias"]
    state["bert.encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(3)
    state["bert.encoder.layer.1.intermediate.dense.weight"] = torch.zeros(48, 31)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointMismatchError) as error:
        load_pretrained(tmp_path)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert "missing from the checkpoint:\n  nsp_head.bias" in message
    assert "unexpected in the checkpoint:\n  bert.encoder.layer.0.attention.self.rotary" in message
    assert "checkpoint [48, 31], model [48, 32]" in message


def test_the_wordpiece_tokenizer_is_saved_where_transformers_reads_it(tmp_path):
    from lmcore.tokenize import WordPiece
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "to", "be", "or", "not", "the",
             "question", "##s", "whe", "##ther", ",", "!", "'", "t", "is"]
    tokenizer = WordPiece(vocab)
    model = BertForPretraining(BertConfig(vocab_size=len(vocab), max_positions=16, d_model=16,
                                          num_layers=1, num_heads=2, d_ff=32))
    save_pretrained(model, tmp_path, tokenizer=tokenizer)
    text, text_b = "To be, or not to be!", "Whether 'tis the questions"
    ours = tokenizer.encode_pair(text, text_b)
    for cls in (transformers.BertTokenizerFast, transformers.BertTokenizer):
        theirs = cls.from_pretrained(tmp_path)(text, text_b)
        assert theirs["input_ids"] == ours["input_ids"]
        assert theirs["token_type_ids"] == ours["token_type_ids"]
    assert load_tokenizer(tmp_path).vocab == vocab
    with pytest.raises(ValueError, match="'tokenizer' argument of save_pretrained"):
        save_pretrained(BertForPretraining(_bert_config()), tmp_path / "x", tokenizer=tokenizer)


def test_a_byte_level_bpe_round_trips(tmp_path):
    from lmcore.tokenize import train_bpe
    tokenizer = train_bpe(["to be or not to be, that is the question"] * 3, 270,
                          special_tokens=["<|endoftext|>"])
    from lmcore.checkpoint import save_tokenizer
    save_tokenizer(tokenizer, tmp_path)
    again = load_tokenizer(tmp_path)
    text = "to be, or not? That is it."
    assert again.encode(text) == tokenizer.encode(text)
    assert again.eos_token_id == tokenizer.eos_token_id is not None


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(TypeError, match="'model' argument of save_pretrained"):
        save_pretrained(torch.nn.Linear(2, 2), tmp_path)
    with pytest.raises(FileNotFoundError, match="'folder' argument of load_pretrained"):
        load_pretrained(tmp_path / "nowhere")
