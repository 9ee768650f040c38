"""Forward + backward time of lmcore.MultiHeadAttention against torch.nn.MultiheadAttention.

    .venv/bin/python bench/bench_attention.py [--repeats 15] [--sizes 256,1024]

Both modules hold the same weights (``MultiHeadAttention.from_torch``) and run self-attention
with ``need_weights=False``, the setting that training uses: lmcore then calls the fused kernel
``torch.nn.functional.scaled_dot_product_attention``, and so does torch's module. The two are
timed in interleaved repetitions in one process (shared machines are noisy; a ratio measured
in one run is what can be compared), and the medians are reported. A ratio below 1 means
lmcore is faster.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lmcore.attention import MultiHeadAttention


def step_time(module: torch.nn.Module, x: torch.Tensor) -> float:
    """Seconds for one forward + backward pass of self-attention on ``x``.

    Both modules take ``(query, key, value, need_weights=False)`` and return ``(output, None)``.
    """
    module.zero_grad(set_to_none=True)
    x.grad = None
    start = time.perf_counter()
    output, _ = module(x, x, x, need_weights=False)
    output.sum().backward()
    return time.perf_counter() - start


def compare(batch: int, n: int, d_model: int, num_heads: int, repeats: int, warmup: int = 2
            ) -> dict[str, float]:
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(d_model, num_heads, batch_first=True)
    ours = MultiHeadAttention.from_torch(reference)
    x = torch.randn(batch, n, d_model, requires_grad=True)
    # same weights, same output: the benchmark compares equal computations
    with torch.no_grad():
        expected, _ = reference(x, x, x, need_weights=False)
        got, _ = ours(x, x, x, need_weights=False)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
    for _ in range(warmup):
        step_time(reference, x)
        step_time(ours, x)
    times_ref, times_ours, ratios = [], [], []
    for i in range(repeats):
        # alternate which goes first, so neither always gets the warmer cache
        if i % 2 == 0:
            t_ours = step_time(ours, x)
            t_ref = step_time(reference, x)
        else:
            t_ref = step_time(reference, x)
            t_ours = step_time(ours, x)
        times_ours.append(t_ours)
        times_ref.append(t_ref)
        ratios.append(t_ours / t_ref)
    return {"lmcore_ms": 1e3 * statistics.median(times_ours),
            "torch_ms": 1e3 * statistics.median(times_ref),
            "ratio": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sizes", default="256,1024", help="sequence lengths n, comma separated")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--heads", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; forward + backward, "
          f"self-attention, need_weights=False, fp32, medians of {args.repeats} interleaved runs")
    print(f"{'batch':>5} {'n':>5} {'d':>4} {'h':>2}  {'lmcore ms':>10} {'torch ms':>10} "
          f"{'ratio lmcore/torch':>19}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = compare(args.batch, n, args.d_model, args.heads, args.repeats)
        print(f"{args.batch:>5} {n:>5} {args.d_model:>4} {args.heads:>2}  {r['lmcore_ms']:>10.2f} "
              f"{r['torch_ms']:>10.2f} {r['ratio']:>19.3f}")


if __name__ == "__main__":
    main()
