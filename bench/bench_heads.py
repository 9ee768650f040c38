"""Time of multi-head attention for several head counts, with and without stored weights.

    .venv/bin/python bench/bench_heads.py [--repeats 9] [--n 256] [--d 256] [--batch 4]

Chapter 5 shows that the FLOPs of multi-head attention do not depend on the number of heads
``h``, and that the attention weights, ``[batch, h, n, n]``, do. This script measures what that
means in time for ``lmcore.MultiHeadAttention`` (forward only, no gradient): with
``need_weights=True`` the weights are computed explicitly and returned; with
``need_weights=False`` torch's fused kernel (``F.scaled_dot_product_attention``) is used and
nothing of size ``h n^2`` is returned. All configurations are timed in interleaved repetitions
in one process (a busy moment on a shared machine then hits every configuration), and the
script prints the median of each and the ratios to ``h = 1`` on the same path, and of the
fused path to the explicit one. Timings depend on the machine, the thread count and its load:
compare ratios from one run, not numbers from different runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lmcore.attention import MultiHeadAttention


def seconds(module: MultiHeadAttention, x: torch.Tensor, need_weights: bool) -> float:
    """Seconds for one forward pass of self-attention on ``x`` ``[batch, n, d]``."""
    start = time.perf_counter()
    with torch.no_grad():
        module(x, x, x, need_weights=need_weights)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--heads", default="1,8,32")
    args = parser.parse_args()
    heads = [int(h) for h in args.heads.split(",")]
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.n, args.d)
    modules = {h: MultiHeadAttention(args.d, h).eval() for h in heads}
    configs = [(h, w) for h in heads for w in (True, False)]
    for h, w in configs:                                   # warm-up, not timed
        seconds(modules[h], x, w)
    runs: dict[tuple[int, bool], list[float]] = {c: [] for c in configs}
    for _ in range(args.repeats):
        for h, w in configs:                               # interleaved
            runs[h, w].append(seconds(modules[h], x, w))
    median = {c: statistics.median(t) for c, t in runs.items()}
    print(f"batch {args.batch}, n = {args.n}, d = {args.d}, {args.repeats} repeats, "
          f"{torch.get_num_threads()} threads; medians")
    print(f"{'h':>3} {'weights ms':>11} {'fused ms':>9} {'fused/weights':>14} "
          f"{'weights/h=1':>12} {'fused/h=1':>10}")
    first = heads[0]
    for h in heads:
        explicit, fused = median[h, True], median[h, False]
        print(f"{h:>3} {1e3 * explicit:>11.1f} {1e3 * fused:>9.1f} {fused / explicit:>14.2f} "
              f"{explicit / median[first, True]:>12.2f} {fused / median[first, False]:>10.2f}")


if __name__ == "__main__":
    main()
