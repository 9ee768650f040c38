"""Tokens per second of lmcore.generate with and without the KV cache (chapter 11).

    .venv/bin/python bench/bench_kv_cache.py [--new 64,256,512] [--repeats 3]
                                             [--out chapters/results/11_kv_cache.json]

Without the cache every step runs the decoder on the whole sequence so far (prompt + tokens
generated), so step t costs about as much as a forward pass over n + t tokens and the total
grows as the square of the number of new tokens. With the cache every step runs the decoder
on one token and reads the keys and values of the earlier positions from the cache. Both
runs generate greedily from the same prompt with the same weights and must give identical
tokens (checked). The two are timed in alternating repetitions in one process (shared
machines are noisy; only a ratio measured side by side means something) and the medians are
reported. The model is a GPT-2-shaped decoder of the shape of chapter 11's longer-run GPT
(lmcore.zoo.SMALL_GPT_FULL: 4 layers, d_model 128, vocabulary 2048) with random weights and
1024 positions (so that 512 new tokens fit), unless ``--d-model`` etc. say otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time

import torch

from lmcore.generate import generate
from lmcore.transformer import GPTConfig, GPTDecoder


def timed(model: GPTDecoder, prompt: torch.Tensor, new: int, use_cache: bool):
    start = time.perf_counter()
    out = generate(model, prompt, new, use_cache=use_cache)
    return time.perf_counter() - start, out


def run(new_tokens: list[int], repeats: int, config: GPTConfig, prompt_len: int = 8) -> dict:
    torch.manual_seed(0)
    model = GPTDecoder(config).eval()
    prompt = torch.randint(0, config.vocab_size, (1, prompt_len))
    timed(model, prompt, 8, True), timed(model, prompt, 8, False)          # warm-up
    rows = []
    for new in new_tokens:
        cached, uncached = [], []
        for i in range(repeats):
            order = (True, False) if i % 2 == 0 else (False, True)       # alternate who starts
            outs = {}
            for use_cache in order:
                seconds, outs[use_cache] = timed(model, prompt, new, use_cache)
                (cached if use_cache else uncached).append(seconds)
            assert torch.equal(outs[True], outs[False]), "cache on and off gave other tokens"
        t_on, t_off = statistics.median(cached), statistics.median(uncached)
        rows.append({"new_tokens": new, "tokens_per_s_cache": new / t_on,
                     "tokens_per_s_no_cache": new / t_off, "speedup": t_off / t_on})
    return {"rows": rows, "prompt_tokens": prompt_len, "repeats": repeats,
            "config": {k: getattr(config, k) for k in ("vocab_size", "d_model", "num_layers",
                                                       "num_heads", "d_ff", "max_positions")},
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "date": datetime.date.today().isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new", default="64,256,512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    config = GPTConfig(vocab_size=args.vocab, max_positions=1024, d_model=args.d_model,
                       num_layers=args.layers, num_heads=args.heads, d_ff=4 * args.d_model,
                       dropout=0.0)
    result = run([int(n) for n in args.new.split(",")], args.repeats, config)
    print(f"decoder d_model={args.d_model}, {args.layers} layers, vocab {args.vocab}; "
          f"prompt {result['prompt_tokens']} tokens; median of {args.repeats}; "
          f"{result['torch_threads']} threads")
    print(f"{'new tokens':>10} {'cache tok/s':>12} {'no cache tok/s':>15} {'speed-up':>9}")
    for row in result["rows"]:
        print(f"{row['new_tokens']:>10} {row['tokens_per_s_cache']:>12.1f} "
              f"{row['tokens_per_s_no_cache']:>15.1f} {row['speedup']:>8.1f}x")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(result, file, indent=1)
            file.write("\n")


if __name__ == "__main__":
    main()
