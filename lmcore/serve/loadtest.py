"""Load on the service: concurrent clients, throughput and latency percentiles (chapter 12).

:func:`load_test` runs ``concurrency`` client threads, each with the official ``openai``
client, each sending its next completion request as soon as its previous answer arrived,
until ``requests`` requests are answered (or ``time_limit`` seconds have passed). It reports
the throughput, completion tokens per second of wall time, and the latency of the requests:
the median (p50) and the 99th percentile (p99, the nearest-rank value; with fewer than 100
requests it is the slowest or nearly so).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import time
from typing import Optional, Sequence

from lmcore._validate import check_int, check_number

__all__ = ["LoadResult", "load_test", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile: the smallest value with at least q % of the
    values at or below it."""
    check_number("percentile", "q", q, minimum=0, maximum=100)
    if not values:
        raise ValueError("The 'values' argument of percentile must not be empty.")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass
class LoadResult:
    concurrency: int
    latencies: list[float]          # seconds, one per answered request
    completion_tokens: int
    wall: float                     # seconds from the first request to the last answer

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.wall

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


def load_test(base_url: str, model: str, concurrency: int, requests: int, *,
              max_tokens: int = 32, api_key: str = "none",
              prompts: Optional[Sequence[str]] = None, time_limit: float = 60.0) -> LoadResult:
    """Greedy completions from ``concurrency`` clients at once (see the module)."""
    from openai import OpenAI
    check_int("load_test", "concurrency", concurrency, minimum=1)
    check_int("load_test", "requests", requests, minimum=1)
    check_int("load_test", "max_tokens", max_tokens, minimum=1)
    check_number("load_test", "time_limit", time_limit, positive=True)
    if prompts is None:
        prompts = [f"Request {i}: the weather today is" + " quite" * (i % 7)
                   for i in range(requests)]
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=300)
    deadline = time.perf_counter() + time_limit

    def one(index: int):
        if time.perf_counter() > deadline:
            return None
        start = time.perf_counter()
        answer = client.completions.create(model=model, prompt=prompts[index % len(prompts)],
                                           max_tokens=max_tokens, temperature=0)
        return time.perf_counter() - start, answer.usage.completion_tokens

    latencies, tokens = [], 0
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(one, range(requests)):
            if result is not None:
                latencies.append(result[0])
                tokens += result[1]
    return LoadResult(concurrency, latencies, tokens, time.perf_counter() - start)
