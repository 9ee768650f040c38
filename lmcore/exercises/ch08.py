"""Checkers of chapter 8, "Pretraining objectives"."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmcore.exercises import exercise, expect, typical_mistake


def _gradient_cases():
    g = torch.Generator().manual_seed(8)
    return [
        (torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64), torch.tensor([0])),
        (torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randint(4, (5,), generator=g)),
        (10 * torch.randn(7, 12, generator=g, dtype=torch.float64), torch.randint(12, (7,), generator=g)),
        (torch.tensor([[500.0, 0.0], [0.0, 500.0]], dtype=torch.float64), torch.tensor([0, 0])),
        # exp(1000) overflows even in float64 (the largest finite exp is about exp(709.8)):
        # only a softmax that subtracts the maximum first stays finite here
        (torch.tensor([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]], dtype=torch.float64),
         torch.tensor([0, 2])),
    ]


@exercise("ch08.cross_entropy_grad", function_name="cross_entropy_grad", points=2,
          title="The gradient of mean cross-entropy with respect to the logits")
def _check_cross_entropy_grad(cross_entropy_grad):
    for logits, targets in _gradient_cases():
        leaf = logits.clone().requires_grad_(True)
        F.cross_entropy(leaf, targets).backward()
        got = cross_entropy_grad(logits.clone(), targets.clone())
        expect(isinstance(got, torch.Tensor) and got.shape == logits.shape,
               f"for logits of shape {tuple(logits.shape)} return a tensor of the same shape; yours "
               f"is {type(got).__name__} {tuple(getattr(got, 'shape', ()))}.")
        expect(bool(torch.isfinite(got).all()),
               f"for logits {logits.tolist()} your gradient has inf or nan: use torch.softmax "
               f"(which subtracts the max) rather than exp(z) / sum(exp(z)).")
        expect(torch.allclose(got.double(), leaf.grad, atol=1e-8),
               f"for logits {logits.round(decimals=3).tolist()} and targets {targets.tolist()} the "
               f"gradient should be {leaf.grad.round(decimals=4).tolist()}; yours is "
               f"{got.double().round(decimals=4).tolist()}. It is (softmax(z) - one_hot(y)) / N.")


_check_cross_entropy_grad.n_cases = len(_gradient_cases())


@typical_mistake("ch08.cross_entropy_grad")
def _not_divided_by_rows(logits, targets):
    return torch.softmax(logits, dim=1) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)


@typical_mistake("ch08.cross_entropy_grad")
def _naive_softmax(logits, targets):
    e = torch.exp(logits)                               # inf for logits above ~709.8
    probabilities = e / e.sum(dim=1, keepdim=True)
    return (probabilities - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)


@typical_mistake("ch08.cross_entropy_grad")
def _sign_flipped(logits, targets):
    return (F.one_hot(targets, logits.shape[1]).to(logits.dtype) - torch.softmax(logits, dim=1)) / len(logits)


def _accuracy_cases():
    g = torch.Generator().manual_seed(9)
    logits = torch.randn(3, 6, 10, generator=g)
    labels = torch.full((3, 6), -100)
    labels[0, 1], labels[1, 4], labels[2, 0], labels[2, 5] = 3, 7, 1, 2
    labels[0, 2] = int(logits[0, 2].argmax())            # one right answer
    labels[1, 1] = int(logits[1, 1].argmax())            # another
    for r, t in [(0, 0), (1, 0), (2, 3)]:                 # unlabelled positions that would be "right"
        logits[r, t, 0] = 50.0
    flat_logits = torch.randn(4, 5, generator=g)
    flat_labels = torch.tensor([int(flat_logits[0].argmax()), -100, int(flat_logits[2].argmax()), -100])
    return [(logits, labels), (flat_logits, flat_labels)]


def _accuracy_reference(logits, labels):
    counted = labels != -100
    return (logits.argmax(-1)[counted] == labels[counted]).float().mean().item()


@exercise("ch08.masked_accuracy", function_name="masked_accuracy", points=2,
          title="Accuracy over the masked positions only")
def _check_masked_accuracy(masked_accuracy):
    for logits, labels in _accuracy_cases():
        want = _accuracy_reference(logits, labels)
        got = masked_accuracy(logits.clone(), labels.clone())
        got = got.item() if isinstance(got, torch.Tensor) else got
        expect(isinstance(got, (int, float)), f"return a number; yours returned {type(got).__name__}.")
        expect(abs(got - want) < 1e-6,
               f"with labels {labels.tolist()} ({int((labels != -100).sum())} positions to predict) "
               f"the accuracy should be {want:.4f}; yours is {got:.4f}. Count only the positions "
               f"whose label is not -100.")


_check_masked_accuracy.n_cases = len(_accuracy_cases())


@typical_mistake("ch08.masked_accuracy")
def _all_positions(logits, labels):
    return (logits.argmax(-1) == labels).float().mean().item()


@typical_mistake("ch08.masked_accuracy")
def _correct_over_all_positions(logits, labels):
    counted = labels != -100
    return (logits.argmax(-1)[counted] == labels[counted]).float().sum().item() / labels.numel()
