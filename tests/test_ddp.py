"""Data-parallel training (chapter 9): two processes (torchrun, gloo) each taking half of a
global batch end with exactly the weights one process gets on the whole batch."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import pytest
import torch

from lmcore.distributed import save_job, shard
from lmcore.pretraining_data import Instance, collate, pretraining_loss
from lmcore.tokenize import WordPiece
from lmcore.train import fit
from lmcore.transformer import BertConfig, BertForPretraining


def _job():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(45)]
    tokenizer = WordPiece(vocab)
    g = torch.Generator().manual_seed(0)
    # equally long pairs: every row has as many masked positions, so the mean over masked
    # positions of the whole batch is the mean of the two halves' means
    instances = [Instance(tuple(torch.randint(5, 50, (9,), generator=g).tolist()),
                          tuple(torch.randint(5, 50, (12,), generator=g).tolist()), i % 3 == 0)
                 for i in range(8)]
    batch = collate(instances, tokenizer, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    model = BertForPretraining(BertConfig(vocab_size=50, max_positions=32, d_model=32,
                                          num_layers=2, num_heads=4, d_ff=64, dropout=0.0))
    return model, batch


def test_shard_splits_rows_and_checks_its_arguments():
    batch = {"x": torch.arange(8), "y": torch.arange(8) * 2}
    assert shard(batch, 1, 2)["y"].tolist() == [8, 10, 12, 14]
    with pytest.raises(ValueError, match="'rank' argument of shard"):
        shard(batch, 2, 2)
    with pytest.raises(ValueError, match="'batch' argument of shard"):
        shard(batch, 0, 3)


def test_two_process_step_equals_one_process_step_on_the_same_global_batch(tmp_path):
    model, batch = _job()
    single = copy.deepcopy(model)
    settings = dict(steps=2, lr=1e-2, warmup_steps=1, max_grad_norm=1.0)
    save_job(tmp_path / "job.pt", model, batch, **settings)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "lmcore.distributed", "--job", str(tmp_path / "job.pt"),
         "--out", str(tmp_path / "out.pt")],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = torch.load(tmp_path / "out.pt", weights_only=False)
    assert out["world_size"] == 2
    before = copy.deepcopy(single.state_dict())
    fit(single, pretraining_loss, [batch], progress=False, **settings)
    moved = 0.0
    for name, tensor in single.state_dict().items():
        torch.testing.assert_close(out["state"][name], tensor, atol=1e-6, rtol=0)
        moved = max(moved, float((tensor - before[name]).abs().max()))
    assert moved > 1e-3        # the step did change the weights
