"""Throughput and latency of the OpenAI-compatible service, with and without batching.

    python bench/bench_serve.py [--model FOLDER] [--requests 32] [--max-tokens 32]

Two servers run side by side on free ports of 127.0.0.1, one decoding up to 16 requests
together (``--max-batch-size 16``), one decoding one request at a time (``--max-batch-size
1``). At each concurrency (1, 4, 16 clients, each sending its next request as soon as the
previous answer arrives) both are measured in turn, in the same run, with the same greedy
requests (distinct prompts, ``max_tokens`` tokens each; the random model never stops early,
so every request generates exactly that many; :func:`lmcore.serve.loadtest.load_test`).
Reported: completion tokens per second over
the whole wall time, and the median and 99th percentile of the request latency. Without
``--model`` a random GPT-2-layout checkpoint (4 layers, width 128, GPT-2's vocabulary) is
made with ``transformers``; nothing is downloaded. Each measurement is repeated
``--rounds`` times, alternating which server goes first, and the best round of each is kept.
Bounded: ``--requests`` per measurement (at least the concurrency), ``--time-limit`` seconds
per measurement. The servers use ``--threads`` torch threads each (default 1).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def random_checkpoint(folder: Path) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50257, n_positions=256, n_embd=128, n_layer=4, n_head=4,
                        initializer_range=0.3)
    GPT2LMHeadModel(config).eval().save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GPT checkpoint folder (default: a random one)")
    parser.add_argument("--requests", type=int, default=32, help="requests per measurement")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="seconds per measurement; later requests are skipped")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements per server and concurrency, alternating; the "
                        "best is kept (the least disturbed by other processes)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of each server (default 1: fair on a busy "
                        "machine)")
    args = parser.parse_args()

    from lmcore.serve import start_server
    from lmcore.serve.loadtest import load_test
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        folder = Path(args.model) if args.model else random_checkpoint(Path(scratch) / "gpt")
        servers = {}
        try:
            for label, size in (("batched", 16), ("one at a time", 1)):
                servers[label] = start_server(folder, model_name="bench", embeddings=False,
                                              max_batch_size=size, log_level="warning",
                                              threads=args.threads)
            print(f"model: {folder.name}; {args.max_tokens} tokens per request, greedy; "
                  f"timings on a shared machine, compare within a row")
            print(f"{'clients':>7} {'server':>14} {'requests':>8} {'tokens/s':>9} "
                  f"{'p50 s':>7} {'p99 s':>7}")
            ratios = {}
            for concurrency in args.concurrency:
                results: dict[str, dict] = {}
                requests = max(args.requests, concurrency)
                for round_ in range(args.rounds):
                    order = list(servers.items())
                    for label, server in (order if round_ % 2 == 0 else order[::-1]):
                        # a short warm-up at this concurrency, then the measurement
                        load_test(server.base_url, "bench", concurrency, concurrency,
                                  max_tokens=4)
                        r = load_test(server.base_url, "bench", concurrency, requests,
                                      max_tokens=args.max_tokens, time_limit=args.time_limit)
                        if label not in results or r.tokens_per_s > results[label].tokens_per_s:
                            results[label] = r
                for label, r in results.items():
                    print(f"{concurrency:>7} {label:>14} {len(r.latencies):>8} "
                          f"{r.tokens_per_s:>9.1f} {r.p50:>7.2f} {r.p99:>7.2f}")
                ratios[concurrency] = (results["batched"].tokens_per_s
                                       / results["one at a time"].tokens_per_s)
            for concurrency, ratio in ratios.items():
                print(f"throughput, batched / one at a time, {concurrency:>2} clients: "
                      f"{ratio:.2f}x")
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
