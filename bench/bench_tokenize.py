"""Encoding throughput of lmcore's GPT-2 tokenizer (pure Python) against tiktoken (Rust).

    python bench/bench_tokenize.py [--megabytes 2]

Both encode the same text (Shakespeare, then the Python standard library's docstrings) in
one run, so the ratio is fair on a noisy shared machine. lmcore is measured three ways: with
no chunk cache (every word merged from scratch), first pass (starting from an empty cache
that fills as it goes: the fair comparison for text not seen before) and warm (the
cache already holds the words). tiktoken is built offline from the same
encoder.json / vocab.bpe, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import time


def tiktoken_gpt2():
    import tiktoken
    import tiktoken.load
    from tiktoken_ext.openai_public import r50k_pat_str
    from lmcore.tokenize.byte_bpe import gpt2_files
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the local files, cache nothing, never download
    files = gpt2_files()
    ranks = tiktoken.load.data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(files["vocab.bpe"]), encoder_json_file=str(files["encoder.json"]))
    return tiktoken.Encoding("gpt2-offline", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def best_of(function, repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=2.0, help="text per corpus (MB)")
    args = parser.parse_args()

    from lmcore.data import load_corpus
    from lmcore.tokenize import gpt2_tokenizer
    from lmcore.tokenize.byte_bpe import ByteLevelBPE

    reference = tiktoken_gpt2()
    ours = gpt2_tokenizer()
    print(f"{'corpus':<12} {'MB':>5} {'no cache':>10} {'first pass':>12} {'warm':>12} "
          f"{'tiktoken':>12} {'speed-up of tiktoken over lmcore, first pass / warm':>52}")
    for name in ("shakespeare", "stdlib"):
        text = load_corpus(name).text
        text = text.encode("utf-8")[: int(args.megabytes * 1e6)].decode("utf-8", "ignore")
        megabytes = len(text.encode("utf-8")) / 1e6
        assert ours.encode(text) == reference.encode_ordinary(text), "ids differ from tiktoken"

        def fresh(cache_size):
            tokenizer = ByteLevelBPE(ours.encoder, ours.merges, ours.special_tokens,
                                     cache_size=cache_size)
            return lambda: tokenizer.encode(text)

        no_cache_s = best_of(fresh(0), repeats=1)
        first_pass_s = best_of(fresh(100_000), repeats=1)
        ours.encode(text)                               # fill the cache
        warm_s = best_of(lambda: ours.encode(text))
        tiktoken_s = best_of(lambda: reference.encode_ordinary(text))
        rate = [megabytes / s for s in (no_cache_s, first_pass_s, warm_s, tiktoken_s)]
        print(f"{name:<12} {megabytes:5.2f} {rate[0]:5.2f} MB/s {rate[1]:7.2f} MB/s {rate[2]:7.2f} MB/s "
              f"{rate[3]:7.2f} MB/s {first_pass_s / tiktoken_s:43.1f}x / {warm_s / tiktoken_s:.1f}x")


if __name__ == "__main__":
    main()
