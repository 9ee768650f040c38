"""One training step of lmcore's encoder against torch.nn.TransformerEncoder (chapter 9).

    .venv/bin/python bench/bench_encoder_step.py [--repeats 10] [--threads 2]

Both stacks have the same size (the small BERT's blocks by default: 2 layers, d 128, 4 heads,
d_ff 512, GELU, post-LN, LayerNorm eps 1e-12, no dropout) and run one training step on the
same input ``[batch, n, d]`` with a padding mask: forward, a mean-square loss, backward,
``torch.optim.AdamW`` step. Steps are timed in interleaved repetitions in one process and
the medians are compared (a ratio below 1 means lmcore is faster). A third stack,
"formulas", is lmcore's with the fused training path switched off: LayerNorm and GELU
computed by the formulas as chapter 6 writes them (what every step ran before
``FusedLayerNorm``); it shows what the fused kernels buy. Also printed:

* tokens per second of lmcore's step (``batch * n / time``);
* model FLOP utilisation (MFU): the step's matrix-multiply FLOPs divided by its time,
  as a fraction of this machine's peak, measured in the same run as the best of several
  1024 x 1024 fp32 matrix products. Per layer and token, the forward pass multiplies
  ``2 (4 d^2 + 2 d d_ff) + 4 n d`` FLOPs (projections, feed-forward, scores and weighted
  sum); backward costs twice the forward, so a step is 3 times the forward.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lmcore.transformer import EncoderBlock, FeedForward, FusedLayerNorm, LayerNorm, gelu


class LmcoreStack(torch.nn.Module):
    def __init__(self, d, heads, d_ff, layers):
        super().__init__()
        self.blocks = torch.nn.ModuleList([EncoderBlock(d, heads, d_ff, dropout=0.0,
                                                        layer_norm_eps=1e-12)
                                           for _ in range(layers)])

    def forward(self, x, keep):
        mask = keep[:, None, None, :]                        # [batch, 1, 1, n]: True = token
        for block in self.blocks:
            x, _ = block(x, mask, need_weights=False)
        return x


class FormulaFeedForward(FeedForward):
    def forward(self, x):
        return self.ffn_out(self.dropout(gelu(self.ffn_in(x))))


def formulas_only(stack: LmcoreStack) -> LmcoreStack:
    """The stack with LayerNorm and GELU computed by chapter 6's formulas in training too."""
    for module in stack.modules():
        if isinstance(module, FusedLayerNorm):
            module.__class__ = LayerNorm
        elif type(module) is FeedForward:
            module.__class__ = FormulaFeedForward
    return stack


class TorchStack(torch.nn.Module):
    def __init__(self, d, heads, d_ff, layers):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d, heads, d_ff, dropout=0.0, activation="gelu",
                                                 layer_norm_eps=1e-12, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x, keep):
        return self.encoder(x, src_key_padding_mask=~keep)  # True = padding


def step(model, optimizer, x, keep) -> float:
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    out = model(x, keep)
    loss = (out[keep] ** 2).mean()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def matmul_peak(n: int = 1024, repeats: int = 10) -> float:
    """Best fp32 GFLOP/s of an n x n matrix product on this machine, now."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def step_flops(batch, n, d, d_ff, layers) -> float:
    per_token_layer = 2 * (4 * d * d + 2 * d * d_ff) + 4 * n * d
    return 3 * per_token_layer * layers * batch * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = LmcoreStack(args.d, args.heads, args.d_ff, args.layers)
    formulas = formulas_only(LmcoreStack(args.d, args.heads, args.d_ff, args.layers))
    formulas.load_state_dict(ours.state_dict())
    theirs = TorchStack(args.d, args.heads, args.d_ff, args.layers)
    x = torch.randn(args.batch, args.n, args.d)
    keep = torch.ones(args.batch, args.n, dtype=torch.bool)
    keep[::2, -args.n // 4:] = False                          # half the rows padded by 1/4
    models = {"lmcore": ours, "formulas": formulas, "torch": theirs}
    opts = {name: torch.optim.AdamW(m.parameters(), lr=1e-4) for name, m in models.items()}
    for name in models:                                       # warm-up
        for _ in range(2):
            step(models[name], opts[name], x, keep)
    times = {name: [] for name in models}
    peaks = []
    for _ in range(args.repeats):
        peaks.append(matmul_peak(repeats=3))
        for name in models:
            times[name].append(step(models[name], opts[name], x, keep))
    median = {name: statistics.median(t) for name, t in times.items()}
    peak = max(peaks)
    flops = step_flops(args.batch, args.n, args.d, args.d_ff, args.layers)
    tokens = args.batch * args.n
    print(f"encoder step: {args.layers} layers, d {args.d}, {args.heads} heads, d_ff "
          f"{args.d_ff}, batch {args.batch} x {args.n} tokens, {args.threads} threads")
    for name in models:
        t = median[name]
        print(f"  {name:8s} {t * 1e3:8.1f} ms/step  {tokens / t:9.0f} tokens/s  "
              f"{flops / t / 1e9:6.1f} GFLOP/s  MFU {flops / t / 1e9 / peak:5.1%}")
    print(f"  ratio lmcore / torch = {median['lmcore'] / median['torch']:.2f}")
    print(f"  ratio formulas / torch = {median['formulas'] / median['torch']:.2f} "
          f"(lmcore before its fused training path)")
    print(f"  matmul peak (fp32, 1024^2, best of the run) = {peak:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
