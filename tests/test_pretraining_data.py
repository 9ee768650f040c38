"""lmcore.pretraining_data (chapter 9): segments respect the length, NSP is 50/50 and crosses
documents, no special token is masked, masks change each epoch, padding changes no loss."""

from __future__ import annotations

import math

import pytest
import torch

from lmcore.pretrain import IGNORE_INDEX
from lmcore.pretraining_data import (Instance, PretrainingBatches, collate, make_instances,
                                     overlap_baseline, pretraining_loss, tokenize_documents,
                                     train_wordpiece, word_overlap)
from lmcore.transformer import BertConfig, BertForPretraining


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def plays():
    from lmcore.data import load_corpus
    return [d.text for d in load_corpus("shakespeare").documents[:4]]


@pytest.fixture(scope="module")
def tokenizer(plays):
    return train_wordpiece(plays, 800)


@pytest.fixture(scope="module")
def documents(plays, tokenizer):
    return tokenize_documents(plays, tokenizer)


def test_train_wordpiece_learns_whole_words_and_pieces_and_never_unk_on_seen_text(
        plays, tokenizer):
    assert tokenizer.vocab_size == 800
    assert tokenizer.vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert {"the", "and", "of"} <= set(tokenizer.vocab)
    assert any(t.startswith("##") and len(t) > 3 for t in tokenizer.vocab)
    assert tokenizer.unk_token_id not in tokenizer.encode(plays[0][:20000])
    with pytest.raises(ValueError, match="'vocab_size' argument of train_wordpiece"):
        train_wordpiece(plays, 10)


def test_segments_fill_the_length_and_never_exceed_it(documents):
    for max_length in (32, 64):
        instances = make_instances(documents, max_length, seed=0)
        lengths = [len(x.a) + len(x.b) + 3 for x in instances]
        assert max(lengths) <= max_length
        # packed, not single sentences: most inputs are close to the maximum
        assert sum(n >= max_length - 8 for n in lengths) / len(lengths) > 0.6
        assert all(x.a and x.b for x in instances)


def test_nsp_is_half_isnext_and_notnext_comes_from_another_document(documents):
    instances = make_instances(documents, 64, seed=0)
    share = sum(x.is_next for x in instances) / len(instances)
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / len(instances))
    text_of = [[t for s in d for t in s] for d in documents]

    def contains(doc, seq):
        seq, n = list(seq), len(seq)
        hay = text_of[doc]
        return any(hay[i:i + n] == seq for i in range(len(hay) - n + 1))

    for x in instances[:40]:
        homes_a = {d for d in range(len(documents)) if contains(d, x.a[-5:])}
        homes_b = {d for d in range(len(documents)) if contains(d, x.b[:5])}
        if x.is_next:
            assert homes_a & homes_b
        else:
            assert homes_b - homes_a   # B can be found in a document A is not from
        # the recorded documents are where A and B were found
        assert x.a_document in homes_a and x.b_document in homes_b
        assert (x.a_document == x.b_document) == x.is_next


def test_batches_mask_no_special_token_and_no_padding(documents, tokenizer):
    instances = make_instances(documents, 48, seed=0)[:64]
    batch = collate(instances, tokenizer, generator=torch.Generator().manual_seed(0))
    ids, labels, original = batch["input_ids"], batch["mlm_labels"], batch["original_ids"]
    chosen = labels != IGNORE_INDEX
    special = torch.tensor(sorted(tokenizer.special_token_ids))
    assert not torch.isin(original[chosen], special).any()
    assert not chosen[batch["attention_mask"] == 0].any()
    assert torch.equal(labels[chosen], original[chosen])
    assert (ids[~chosen] == original[~chosen]).all()
    # segment ids: 0 up to the first [SEP], 1 after it, 0 on padding
    for row, x in enumerate(instances):
        n = len(x.a) + len(x.b) + 3
        assert batch["token_type_ids"][row, :len(x.a) + 2].eq(0).all()
        assert batch["token_type_ids"][row, len(x.a) + 2:n].eq(1).all()
        assert batch["attention_mask"][row].sum() == n


def test_dynamic_masking_draws_fresh_masks_each_epoch_and_repeats_an_epoch(documents,
                                                                           tokenizer):
    instances = make_instances(documents, 48, seed=0)[:64]
    batches = PretrainingBatches(instances, tokenizer, 64, seed=0, shuffle=False)
    first, again, second = next(batches(0)), next(batches(0)), next(batches(1))
    assert torch.equal(first["mlm_labels"], again["mlm_labels"])
    assert not torch.equal(first["mlm_labels"] != IGNORE_INDEX,
                           second["mlm_labels"] != IGNORE_INDEX)
    assert torch.equal(first["original_ids"], second["original_ids"])


def test_padding_changes_neither_loss(documents, tokenizer):
    """One pair alone, and the same pair padded in a batch with a longer one: same losses."""
    torch.manual_seed(0)
    model = BertForPretraining(BertConfig(vocab_size=tokenizer.vocab_size, max_positions=64,
                                          d_model=32, num_layers=2, num_heads=4, d_ff=64,
                                          dropout=0.0)).eval()
    instances = sorted(make_instances(documents, 64, seed=0)[:50],
                       key=lambda x: len(x.a) + len(x.b))
    short, long = instances[0], instances[-1]
    assert len(short.a) + len(short.b) < len(long.a) + len(long.b)
    alone = collate([short], tokenizer, generator=torch.Generator().manual_seed(1))
    both = collate([short, long], tokenizer, generator=torch.Generator().manual_seed(1))
    n = alone["input_ids"].shape[1]
    both["input_ids"][0, :n] = alone["input_ids"][0]          # the same masks on `short`
    both["mlm_labels"][0, :n] = alone["mlm_labels"][0]
    both["mlm_labels"][1] = IGNORE_INDEX                      # only `short` is scored
    with torch.no_grad():
        out_alone = model(alone["input_ids"], alone["token_type_ids"], alone["attention_mask"])
        out_both = model(both["input_ids"], both["token_type_ids"], both["attention_mask"])
    torch.testing.assert_close(out_both.mlm_logits[0, :n], out_alone.mlm_logits[0],
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(out_both.nsp_logits[0], out_alone.nsp_logits[0],
                               atol=1e-5, rtol=0)
    loss_alone, _ = pretraining_loss(model, alone)
    loss_both, parts = pretraining_loss(model, {k: v[:1] for k, v in both.items()})
    assert float(loss_both.detach()) == pytest.approx(float(loss_alone.detach()), abs=1e-5)


def test_scoring_only_the_masked_positions_gives_the_same_mlm_loss(documents, tokenizer):
    from lmcore.pretrain import mlm_loss
    torch.manual_seed(0)
    model = BertForPretraining(BertConfig(vocab_size=tokenizer.vocab_size, max_positions=64,
                                          d_model=32, num_layers=1, num_heads=4, d_ff=64,
                                          dropout=0.0)).eval()
    batch = collate(make_instances(documents, 64, seed=0)[:8], tokenizer,
                    generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        loss, parts = pretraining_loss(model, batch)
    assert parts["mlm_loss"] == pytest.approx(float(mlm_loss(full.mlm_logits,
                                                              batch["mlm_labels"])), abs=1e-5)


def test_overlap_baseline_fits_a_threshold_and_is_above_chance_on_its_own_data(documents):
    instances = make_instances(documents, 64, seed=0)
    threshold, accuracy = overlap_baseline(instances, instances)
    assert 0 <= threshold < 1 and accuracy > 0.5
    x = Instance((1, 2, 3), (3, 4), True)
    assert word_overlap(x) == pytest.approx(1 / 4)


def test_bad_arguments_are_named(documents, tokenizer):
    with pytest.raises(ValueError, match="'documents' argument of make_instances"):
        make_instances(documents[:1], 64)
    with pytest.raises(ValueError, match="'max_length' argument of make_instances"):
        make_instances(documents, 4)
    with pytest.raises(ValueError, match="'batch_size' argument of PretrainingBatches"):
        PretrainingBatches([Instance((5,), (6,), True)], tokenizer, 0)
