"""Chapter 8's claims about BERT's masking, the MLM and NSP losses, and NSP pairs.

References: torch.nn.functional.cross_entropy(ignore_index=-100) and
binary_cross_entropy_with_logits for the losses, autograd for the hand-derived gradients,
binomial standard errors for the masking proportions.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import lmcore
from lmcore.pretrain import IGNORE_INDEX, mask_tokens, mlm_loss, nsp_loss, nsp_pairs

V = 1000
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = [PAD, UNK, CLS, SEP, MASK]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(rows=200, length=40, seed=0, padding=True):
    """[CLS] ordinary tokens [SEP] then padding of varying lengths, like a real batch."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(len(SPECIALS), V, (rows, length), generator=g)
    ids[:, 0] = CLS
    for r in range(rows):
        end = int(torch.randint(5, length, (1,), generator=g)) if padding else length - 1
        ids[r, end] = SEP
        ids[r, end + 1:] = PAD
    return ids


def _mask(ids, seed=0, **kwargs):
    return mask_tokens(ids, MASK, V, SPECIALS, generator=torch.Generator().manual_seed(seed), **kwargs)


def test_mask_tokens_is_exported():
    assert lmcore.mask_tokens is mask_tokens and lmcore.mlm_loss is mlm_loss and lmcore.nsp_loss is nsp_loss


def test_each_sequence_gets_round_fifteen_percent_of_its_ordinary_positions():
    ids = _batch()
    _, labels = _mask(ids)
    ordinary = ~torch.isin(ids, torch.tensor(SPECIALS))
    n = ordinary.sum(1)
    expected = torch.clamp(torch.round(0.15 * n), min=1)
    assert torch.equal((labels != IGNORE_INDEX).sum(1), expected)


def test_masking_proportions_are_fifteen_and_80_10_10_within_sampling_error():
    ids = _batch(rows=4000, length=60, seed=1)
    masked, labels = _mask(ids, seed=2)
    ordinary = ~torch.isin(ids, torch.tensor(SPECIALS))
    chosen = labels != IGNORE_INDEX
    assert abs(chosen.sum().item() / ordinary.sum().item() - 0.15) < 0.01
    N = int(chosen.sum())
    shares = {
        0.8: (masked[chosen] == MASK).double().mean().item(),
        0.1: ((masked[chosen] != MASK) & (masked[chosen] != ids[chosen])).double().mean().item(),
    }
    unchanged = (masked[chosen] == ids[chosen]).double().mean().item()
    for target, share in list(shares.items()) + [(0.1, unchanged)]:
        assert abs(share - target) < 4 * math.sqrt(target * (1 - target) / N) + 2 / V


def test_every_ordinary_position_is_equally_likely_to_be_chosen():
    ids = torch.arange(10, 30)[None].expand(20000, -1).clone()   # 20 ordinary tokens, k = 3
    _, labels = _mask(ids, seed=3)
    frequency = (labels != IGNORE_INDEX).double().mean(0)
    se = math.sqrt(0.15 * 0.85 / 20000)
    assert (frequency - 0.15).abs().max() < 4 * se


def test_special_tokens_are_never_chosen_or_changed():
    ids = _batch(seed=4)
    masked, labels = _mask(ids, seed=5)
    special = torch.isin(ids, torch.tensor(SPECIALS))
    assert torch.equal(masked[special], ids[special])
    assert (labels[special] == IGNORE_INDEX).all()


def test_random_replacements_are_never_special_tokens():
    ids = _batch(rows=2000, seed=6)
    masked, labels = _mask(ids, seed=7)
    changed = (labels != IGNORE_INDEX) & (masked != MASK) & (masked != ids)
    assert changed.sum() > 100
    assert not torch.isin(masked[changed], torch.tensor(SPECIALS)).any()


def test_labels_hold_the_original_ids_exactly_where_chosen():
    ids = _batch(seed=8)
    masked, labels = _mask(ids, seed=9)
    chosen = labels != IGNORE_INDEX
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])


def test_input_is_never_modified_in_place():
    ids = _batch(seed=10)
    copy = ids.clone()
    _mask(ids, seed=11)
    assert torch.equal(ids, copy)


def test_seeded_generator_makes_masking_deterministic():
    ids = _batch(seed=12)
    a, la = _mask(ids, seed=13)
    b, lb = _mask(ids, seed=13)
    c, lc = _mask(ids, seed=14)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(lc, la)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=3), length=st.integers(1, 30),
       seed=st.integers(0, 2 ** 31))
def test_any_batch_shape_works_row_by_row(shape, length, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 60, (*shape, length), generator=g)      # specials 0..4 appear too
    masked, labels = mask_tokens(ids, MASK, 60, SPECIALS, generator=torch.Generator().manual_seed(seed))
    assert masked.shape == ids.shape == labels.shape and masked.dtype == ids.dtype
    flat_ids, flat_labels = ids.reshape(-1, length), labels.reshape(-1, length)
    for row, row_labels in zip(flat_ids, flat_labels):
        n = int((~torch.isin(row, torch.tensor(SPECIALS))).sum())
        k = 0 if n == 0 else max(1, round(0.15 * n))
        assert int((row_labels != IGNORE_INDEX).sum()) == k


def test_mask_prob_changes_the_number_chosen():
    ids = torch.arange(10, 110)[None]
    _, labels = mask_tokens(ids, MASK, V, SPECIALS, mask_prob=0.4, generator=torch.Generator().manual_seed(0))
    assert int((labels != IGNORE_INDEX).sum()) == 40


@pytest.mark.parametrize("call, error, message", [
    (lambda: mask_tokens(torch.tensor([5.0, 6.0]), MASK, V, SPECIALS), TypeError, "'input_ids' argument of mask_tokens"),
    (lambda: mask_tokens(torch.tensor(7), MASK, V, SPECIALS), ValueError, "'input_ids' argument"),
    (lambda: mask_tokens(torch.tensor([5, 2000]), MASK, V, SPECIALS), ValueError, r"ids in \[0, vocab_size\)"),
    (lambda: mask_tokens(torch.tensor([5, 6]), V, V, SPECIALS), ValueError, "'mask_token_id' argument"),
    (lambda: mask_tokens(torch.tensor([5, 6]), MASK, V, SPECIALS, mask_prob=0), ValueError, "'mask_prob' argument"),
    (lambda: mask_tokens(torch.tensor([5, 6]), MASK, V, SPECIALS, mask_prob=1.5), ValueError, "'mask_prob' argument"),
    (lambda: mask_tokens(torch.tensor([5, 6]), MASK, V, "abc"), TypeError, "'special_token_ids' argument"),
    (lambda: mask_tokens(torch.tensor([5, 6]), MASK, V, SPECIALS, generator=3), TypeError, "'generator' argument"),
])
def test_bad_masking_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- losses -----------------------------------------------------------------------------------

def _logits_and_labels(seed=0, shape=(4, 12), vocab=50):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(*shape, vocab, generator=g, dtype=torch.float64)
    labels = torch.randint(vocab, shape, generator=g)
    labels[torch.rand(shape, generator=g) < 0.7] = IGNORE_INDEX
    labels.view(-1)[0] = 1                                        # at least one counted position
    return logits, labels


@pytest.mark.parametrize("shape", [(7,), (4, 12), (2, 3, 5)])
def test_mlm_loss_equals_torch_cross_entropy_with_ignore_index(shape):
    logits, labels = _logits_and_labels(shape=shape)
    reference = F.cross_entropy(logits.reshape(-1, 50), labels.reshape(-1), ignore_index=-100)
    assert torch.allclose(mlm_loss(logits, labels), reference, atol=1e-12)


def test_padding_does_not_change_mlm_loss():
    logits, labels = _logits_and_labels(seed=1)
    before = mlm_loss(logits, labels)
    changed = logits.clone()
    uncounted = labels == IGNORE_INDEX
    changed[uncounted] = 1000 * torch.randn(int(uncounted.sum()), 50, dtype=torch.float64)
    assert mlm_loss(changed, labels).item() == before.item()
    # and appending padding positions (label -100) to every sequence changes nothing either
    padded_logits = torch.cat([logits, torch.randn(4, 9, 50, dtype=torch.float64)], dim=1)
    padded_labels = torch.cat([labels, torch.full((4, 9), IGNORE_INDEX)], dim=1)
    assert torch.allclose(mlm_loss(padded_logits, padded_labels), before, atol=1e-14)


def test_mlm_loss_gradient_is_p_minus_onehot_over_the_count_and_zero_elsewhere():
    logits, labels = _logits_and_labels(seed=2)
    leaf = logits.clone().requires_grad_(True)
    mlm_loss(leaf, labels).backward()
    counted = labels != IGNORE_INDEX
    expected = torch.zeros_like(logits)
    expected[counted] = (torch.softmax(logits[counted], -1) - F.one_hot(labels[counted], 50).double()) / counted.sum()
    assert torch.allclose(leaf.grad, expected, atol=1e-15)


def test_mlm_loss_with_no_position_to_predict_is_a_clear_error_not_nan():
    logits, labels = _logits_and_labels()
    with pytest.raises(ValueError, match="no position to predict"):
        mlm_loss(logits, torch.full_like(labels, IGNORE_INDEX))


def test_mlm_loss_checks_shapes_and_labels():
    logits, labels = _logits_and_labels()
    with pytest.raises(ValueError, match="'labels' argument of mlm_loss must have the shape"):
        mlm_loss(logits, labels[:, :-1])
    with pytest.raises(TypeError, match="'logits' argument of mlm_loss"):
        mlm_loss(labels, labels)
    bad = labels.clone()
    bad[0, 0] = 50
    with pytest.raises(ValueError, match="-100 or a token id"):
        mlm_loss(logits, bad)


def test_nsp_loss_is_two_class_cross_entropy_and_binary_cross_entropy_of_the_difference():
    g = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(32, 2, generator=g, dtype=torch.float64)
    is_next = torch.rand(32, generator=g) < 0.5
    ours = nsp_loss(logits, is_next)
    assert torch.allclose(ours, F.cross_entropy(logits, (~is_next).long()), atol=1e-14)
    u = logits[:, 0] - logits[:, 1]
    assert torch.allclose(ours, F.binary_cross_entropy_with_logits(u, is_next.double()), atol=1e-14)
    assert torch.allclose(nsp_loss(logits, is_next.long()), ours)


def test_nsp_loss_gradient_is_sigmoid_minus_label():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(10, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    is_next = torch.rand(10, generator=g) < 0.5
    nsp_loss(logits, is_next).backward()
    s = torch.sigmoid(logits.detach()[:, 0] - logits.detach()[:, 1])
    y = is_next.double()
    assert torch.allclose(logits.grad, torch.stack([s - y, y - s], 1) / 10, atol=1e-15)


def test_nsp_loss_arguments_are_checked():
    with pytest.raises(TypeError, match="'logits' argument of nsp_loss"):
        nsp_loss(torch.zeros(4, 3), torch.ones(4, dtype=torch.bool))
    with pytest.raises(TypeError, match="'is_next' argument of nsp_loss"):
        nsp_loss(torch.zeros(4, 2), torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="booleans or 0/1"):
        nsp_loss(torch.zeros(2, 2), torch.tensor([0, 2]))


def test_combined_loss_of_an_uninformed_model_is_log_v_plus_log_two():
    labels = torch.full((3, 8), IGNORE_INDEX)
    labels[:, 2] = 7
    total = mlm_loss(torch.zeros(3, 8, V), labels) + nsp_loss(torch.zeros(3, 2), torch.tensor([True, False, True]))
    assert total.item() == pytest.approx(math.log(V) + math.log(2), abs=1e-5)


# ---- NSP pairs --------------------------------------------------------------------------------

def _documents():
    return [[(d, i) for i in range(5 + 3 * d)] for d in range(8)]


def test_nsp_pairs_are_half_is_next_and_negatives_come_from_another_document():
    pairs = nsp_pairs(_documents(), num_pairs=5000, seed=0)
    share = sum(p.is_next for p in pairs) / len(pairs)
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / 5000)
    for p in pairs:
        (doc_a, i_a), (doc_b, i_b) = p.a, p.b
        if p.is_next:
            assert doc_b == doc_a and i_b == i_a + 1
        else:
            assert doc_b != doc_a


def test_nsp_pairs_are_deterministic_for_a_seed():
    assert nsp_pairs(_documents(), 50, seed=3) == nsp_pairs(_documents(), 50, seed=3)
    assert nsp_pairs(_documents(), 50, seed=3) != nsp_pairs(_documents(), 50, seed=4)


def test_nsp_pairs_need_two_documents():
    with pytest.raises(ValueError, match="'documents' argument of nsp_pairs"):
        nsp_pairs([["a", "b", "c"]], 10)
    with pytest.raises(ValueError, match="'num_pairs' argument of nsp_pairs"):
        nsp_pairs(_documents(), 0)
