"""Data-parallel training with ``torch.distributed`` (chapter 9).

Data parallelism: ``W`` processes each hold a full copy of the model and take ``1/W`` of every
global batch. After each backward pass ``DistributedDataParallel`` (DDP) all-reduces the
gradients, so every process holds their mean::

    g = (1/W) sum_{r=1..W} grad L_r(theta),   L_r = mean loss over the B/W examples of rank r

When the loss is a mean over examples and the shards are equal, ``g`` is exactly the gradient
of the mean loss over the whole batch of ``B`` examples, so each process then takes the same
optimiser step as one process would on the whole batch, and the copies never drift apart.
(BERT's MLM loss is a mean over *masked positions*; it fits this only when every shard has
as many masked positions, e.g. equally long inputs. Otherwise the step is a slightly
different weighting of the same examples, which is what real BERT training does too.)

How the processes are started: ``torchrun`` (``torch.distributed.run``) starts ``W`` copies of
a script and gives each ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` in its environment; :func:`init` reads them. On one machine::

    torchrun --standalone --nproc-per-node 2 -m lmcore.distributed --model M --batch B --out O

On several machines, the same command runs on each with ``--nnodes N --node-rank i
--rdzv-backend c10d --rdzv-endpoint HOST:PORT``. The ``gloo`` backend all-reduces CPU
tensors over TCP; on GPUs one uses ``nccl`` (one process per GPU, ``LOCAL_RANK`` picks the
device), which moves the gradients GPU to GPU over NVLink or InfiniBand.

``python -m lmcore.distributed`` (this module's :func:`main`) trains a model saved with
:func:`save_job` on its share of a saved global batch for ``--steps`` steps of
:func:`lmcore.train.fit`, and rank 0 writes the resulting weights: chapter 9 and
``tests/test_ddp.py`` compare them with one process training on the whole batch.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch

from lmcore._validate import bad_argument, check_int

__all__ = ["init", "shard", "save_job", "main"]


def init(backend: str = "gloo") -> tuple[int, int]:
    """Join the process group described by torchrun's environment; returns (rank, world)."""
    import torch.distributed as dist
    for variable in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        if variable not in os.environ:
            raise RuntimeError(f"lmcore.distributed.init: the environment variable {variable} "
                               "is not set; start the script with torchrun (see the module "
                               "docstring).")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def shard(batch: dict, rank: int, world_size: int) -> dict:
    """Rows ``[rank * B/W, (rank + 1) * B/W)`` of every tensor of ``batch`` (B divisible by W)."""
    check_int("shard", "world_size", world_size, minimum=1)
    check_int("shard", "rank", rank, minimum=0)
    if rank >= world_size:
        raise ValueError(bad_argument("shard", "rank", rank, f"an int < world_size "
                                      f"({world_size})"))
    sizes = {len(v) for v in batch.values()}
    if len(sizes) != 1 or next(iter(sizes)) % world_size:
        raise ValueError(bad_argument("shard", "batch", f"a batch of {sorted(sizes)} rows",
                                      f"tensors with one batch size divisible by {world_size}"))
    per = next(iter(sizes)) // world_size
    return {k: v[rank * per:(rank + 1) * per] for k, v in batch.items()}


def save_job(path: str | Path, model: torch.nn.Module, batch: dict, **fit_arguments: Any):
    """Save what :func:`main` needs: the model (pickled, with its weights), the global batch
    and the keyword arguments of :func:`lmcore.train.fit` (``steps``, ``lr``, ...)."""
    torch.save({"model": model, "batch": batch, "fit": fit_arguments}, path)


def main(argv: list[str] | None = None) -> None:
    """Entry point for torchrun: train on this rank's shard, rank 0 saves the weights."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from lmcore.pretraining_data import pretraining_loss
    from lmcore.train import fit

    parser = argparse.ArgumentParser(prog="python -m lmcore.distributed")
    parser.add_argument("--job", required=True, help="file written by save_job")
    parser.add_argument("--out", required=True, help="where rank 0 writes the state_dict")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rank, world = init("gloo")
    job = torch.load(args.job, weights_only=False)
    model = job["model"]
    ddp = DistributedDataParallel(model)
    mine = shard(job["batch"], rank, world)
    history = fit(ddp, lambda m, b: pretraining_loss(m, b), [mine], progress=False,
                  **job["fit"])
    if rank == 0:
        torch.save({"state": model.state_dict(), "train_loss": history.train_loss,
                    "world_size": world}, args.out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
