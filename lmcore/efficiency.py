"""Cheaper training, measured (chapter 13): gradient accumulation, activation checkpointing
and the memory that backpropagation keeps.

**Gradient accumulation.** The loss of a batch of ``B`` examples is the mean of their
losses. Split the batch into micro-batches ``B_1..B_K`` of sizes ``b_k``; then::

    L_B = (1/B) sum_i l_i = sum_k (b_k / B) L_{B_k},    so   grad L_B = sum_k (b_k / B) grad L_{B_k}

because the gradient is linear. :func:`accumulated_gradients` runs one backward pass per
micro-batch on ``(b_k / B) L_{B_k}`` and lets the gradients add up in ``.grad``: the result is
the big batch's gradient (up to float rounding), with the activations of only one
micro-batch alive at a time.

**Activation checkpointing** (Chen et al. 2016). Backpropagation needs, for every
operation, some of its inputs or outputs ("saved tensors"), kept from the forward pass until
the backward pass uses them; they grow with the batch, the sequence length and the depth.
:func:`checkpoint_blocks` wraps every block of a decoder in ``torch.utils.checkpoint``: the
forward pass keeps only each block's *input*, and the backward pass runs the block's forward
again to recompute what it needs. Memory falls from all of every block's saved tensors to one
input per block (plus one block's worth during its backward pass); the price is a second
forward pass of the blocks, about a third more arithmetic per step.

:func:`saved_tensor_bytes` measures the memory in question exactly: it runs a forward pass
under ``torch.autograd.graph.saved_tensors_hooks``, which sees every tensor autograd saves
for the backward pass, and adds up the bytes of the distinct ones that are not parameters
(parameters exist anyway).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from lmcore._validate import bad_argument, check_int

__all__ = ["accumulated_gradients", "checkpoint_blocks", "CheckpointedBlock",
           "saved_tensor_bytes"]


def _check_model(function: str, model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(bad_argument(function, "model", model, "a torch.nn.Module"))
    return model


def accumulated_gradients(model: nn.Module,
                          loss_fn: Callable[[Any, Any], Any], batch: Any,
                          micro_batches: int) -> list:
    """The gradient of ``loss_fn(model, batch)`` (a mean over the rows of
    ``batch``) computed as ``micro_batches`` backward passes on slices of
    ``batch`` weighted by their share of the rows; returns one tensor per
    parameter (``None`` where a parameter got no gradient). ``.grad`` of the
    model is left holding the accumulated gradient."""
    name = "accumulated_gradients"
    model = _check_model(name, model)
    if not isinstance(batch, torch.Tensor) or batch.dim() < 1:
        raise TypeError(bad_argument(
            name, "batch", batch,
            "a tensor whose first dimension is the batch"))
    check_int(name, "micro_batches", micro_batches, minimum=1)
    if micro_batches > len(batch):
        raise ValueError(bad_argument(
            name, "micro_batches", micro_batches,
            f"at most the batch size ({len(batch)})"))
    model.zero_grad(set_to_none=True)
    for part in batch.tensor_split(micro_batches):   # sizes b_k differ by <= 1
        weight = len(part) / len(batch)                # b_k / B
        loss = loss_fn(model, part) * weight           # (b_k / B) L_{B_k}
        loss.backward()                                # .grad += its gradient
    return [None if p.grad is None else p.grad.detach().clone()
            for p in model.parameters()]


class CheckpointedBlock(nn.Module):
    """A decoder block whose forward pass, when gradients are needed, keeps only its input
    and recomputes the rest during the backward pass (``torch.utils.checkpoint``)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x, mask=None, need_weights: bool = False):
        if need_weights or not (torch.is_grad_enabled() and x.requires_grad or
                                any(p.requires_grad for p in self.block.parameters())):
            return self.block(x, mask, need_weights=need_weights)
        out = torch.utils.checkpoint.checkpoint(
            lambda h: self.block(h, mask, need_weights=False)[0], x, use_reentrant=False)
        return out, None

    def forward_cached(self, *args, **kwargs):       # generation: nothing to checkpoint
        return self.block.forward_cached(*args, **kwargs)


def checkpoint_blocks(model: nn.Module) -> nn.Module:
    """Wrap every block of ``model.blocks`` (a :class:`~lmcore.transformer.GPTDecoder`, in
    place) in a :class:`CheckpointedBlock`; returns ``model``. The parameters stay the same
    objects, so an optimiser built before keeps working."""
    model = _check_model("checkpoint_blocks", model)
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleList):
        raise ValueError(bad_argument("checkpoint_blocks", "model", type(model).__name__,
                                      "a model with a ModuleList 'blocks' (a GPTDecoder)"))
    for i, block in enumerate(blocks):
        if not isinstance(block, CheckpointedBlock):
            blocks[i] = CheckpointedBlock(block)
    return model


def saved_tensor_bytes(model: nn.Module, forward: Callable[[], Any]) -> int:
    """Bytes of the distinct non-parameter tensors autograd saves for the backward pass
    while ``forward()`` runs (call it with a function that computes the loss); the graph is
    freed afterwards. Tensors are told apart by their storage, so a tensor saved by two
    operations counts once."""
    model = _check_model("saved_tensor_bytes", model)
    if not callable(forward):
        raise TypeError(bad_argument("saved_tensor_bytes", "forward", forward,
                                     "a function that runs the forward pass"))
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key not in parameters and key not in seen:
            seen[key] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = forward()
    del out
    return sum(seen.values())
