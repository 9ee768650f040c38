"""BertForSequenceClassification / BertForTokenClassification (chapter 10) are Hugging Face's.

References: transformers' own classes of the same names, built at random offline, saved and
loaded by transformers itself; the logits must agree to 1e-4 both ways.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

from lmcore.checkpoint import (CheckpointMismatchError, load_classifier_weights,  # noqa: E402
                               load_pretrained, save_pretrained)
from lmcore.transformer import (BertConfig, BertForSequenceClassification,  # noqa: E402
                                BertForTokenClassification)

TOL = dict(atol=1e-4, rtol=0)
SENTIMENT = ("negative", "neutral", "positive")
TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


pytestmark = pytest.mark.usefixtures("one_torch_thread")
transformers.logging.set_verbosity_error()


def _config(pooler=True):
    return BertConfig(vocab_size=101, max_positions=32, d_model=32, num_layers=2, num_heads=4,
                      d_ff=48, dropout=0.0, pooler=pooler)


def _inputs(n=11):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 101, (3, n), generator=g)
    mask = torch.ones(3, n, dtype=torch.long)
    mask[2, -3:] = 0
    return ids, mask


def _randomise(model):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (1.0 if p.dim() == 1 else 0.0))
    return model


@pytest.mark.parametrize("kind", ["sequence", "token"])
def test_lmcore_classifier_loads_in_transformers_with_the_same_logits(tmp_path, kind):
    if kind == "sequence":
        ours = _randomise(BertForSequenceClassification(_config(), SENTIMENT)).eval()
        theirs_class = transformers.BertForSequenceClassification
    else:
        ours = _randomise(BertForTokenClassification(_config(False), TAGS)).eval()
        theirs_class = transformers.BertForTokenClassification
    save_pretrained(ours, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == [type(ours).__name__]
    theirs, info = theirs_class.from_pretrained(tmp_path, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    assert theirs.config.id2label == dict(enumerate(ours.labels))
    ids, mask = _inputs()
    with torch.no_grad():
        expected = theirs.eval()(input_ids=ids, attention_mask=mask).logits
        got = ours(ids, attention_mask=mask)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, **TOL)


@pytest.mark.parametrize("kind", ["sequence", "token"])
def test_transformers_classifier_loads_in_lmcore_with_the_same_logits(tmp_path, kind):
    hf_config = transformers.BertConfig(
        vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=48, max_position_embeddings=32, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        id2label=dict(enumerate(SENTIMENT if kind == "sequence" else TAGS)))
    theirs_class = (transformers.BertForSequenceClassification if kind == "sequence"
                    else transformers.BertForTokenClassification)
    theirs = _randomise(theirs_class(hf_config)).eval()
    theirs.save_pretrained(tmp_path)
    ours = load_pretrained(tmp_path)
    assert type(ours).__name__ == theirs_class.__name__
    assert ours.labels == (SENTIMENT if kind == "sequence" else TAGS)
    ids, mask = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask),
                                   theirs(input_ids=ids, attention_mask=mask).logits, **TOL)


def test_a_checkpoint_with_the_wrong_number_of_classes_copies_nothing():
    source = _randomise(BertForSequenceClassification(_config(), SENTIMENT))
    state = {k: v for k, v in __import__("lmcore.checkpoint").checkpoint
             .lmcore_to_hf_state(source).items()}
    target = BertForSequenceClassification(_config(), ("a", "b"))
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointMismatchError, match="classifier.weight"):
        load_classifier_weights(target, state)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_classifiers_reject_bad_labels_with_a_clear_error():
    with pytest.raises(ValueError, match="labels"):
        BertForSequenceClassification(_config(), ("only-one",))
    with pytest.raises(ValueError, match="pooler"):
        BertForSequenceClassification(_config(pooler=False), SENTIMENT)
