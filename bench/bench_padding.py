"""What batching by length saves in chapter 10 (MiniLM, one thread).

    .venv/bin/python bench/bench_padding.py [--texts 1000] [--steps 8] [--repeats 3]

Chapter 10's tweets are 5 to 64 tokens long. A batch padded to its longest text spends
arithmetic on padding that the attention mask then throws away. Two places avoid it:

* inference (``lmcore.finetune.class_probabilities``, ``pooled_features``,
  ``predict_tags``) sorts the texts by length, batches neighbours, and puts the results
  back in the given order; compared here with batches in the given order, as the functions
  ran before;
* training (``classification_loss``) runs the model on groups of 8 texts of similar length
  inside each shuffled batch of 32, instead of on the whole padded batch; compared here
  with one forward and backward pass of the padded batch.

Both ways give the same numbers up to rounding (``tests/test_finetune.py``); this script
checks the largest difference too. The two ways alternate in one process and the medians
of their ratios are printed (shared machines are noisy; only a ratio measured side by side
means something).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
import torch.nn.functional as F

from lmcore import zoo
from lmcore.data import SENTIMENT_LABELS, load_sentiment
from lmcore.finetune import (class_probabilities, classification_loss, encode_texts,
                             sentence_classifier, text_batches)
from lmcore.transformer import load_minilm


def given_order(model, tokenizer, texts, batch_size=128):
    """class_probabilities as it ran before: batches in the order of ``texts``."""
    model.eval()
    with torch.no_grad():
        chunks = [encode_texts(tokenizer, texts[s:s + batch_size])
                  for s in range(0, len(texts), batch_size)]
        return torch.cat([model(e["input_ids"], attention_mask=e["attention_mask"])
                          .softmax(-1) for e in chunks])


def timed(function, *args):
    start = time.perf_counter()
    out = function(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    minilm, tokenizer = load_minilm()
    torch.manual_seed(0)
    model = sentence_classifier(minilm, SENTIMENT_LABELS)

    texts = [x.text for x in random.Random(1).sample(load_sentiment().test, args.texts)]
    ratios, difference = [], 0.0
    for _ in range(args.repeats):
        before, a = timed(given_order, model, tokenizer, texts)
        after, b = timed(class_probabilities, model, tokenizer, texts)
        ratios.append(after / before)
        difference = max(difference, float((a - b).abs().max()))
    print(f"inference, {args.texts} test texts: length order takes "
          f"{statistics.median(ratios):.2f}x the time of the given order "
          f"(median of {args.repeats}; largest probability difference {difference:.1e})")

    train_texts, labels = zoo.sentiment_training_set()
    batches = text_batches(tokenizer, train_texts, labels)(0)[:args.steps]
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    padded_tokens = sum(b["attention_mask"].numel() for b in batches)
    model.train()

    def padded_step(batch):
        logits = model(batch["input_ids"], attention_mask=batch["attention_mask"])
        F.cross_entropy(logits, batch["labels"]).backward()
        model.zero_grad()

    def grouped_step(batch):
        classification_loss(model, batch)[0].backward()
        model.zero_grad()

    ratios = []
    for batch in batches:
        first, _ = timed(padded_step, batch)
        grouped, _ = timed(grouped_step, batch)
        second, _ = timed(padded_step, batch)
        ratios.append(grouped / ((first + second) / 2))
    print(f"training, {len(batches)} batches of 32 ({padded_tokens / real:.2f} padded "
          f"tokens per real one): a step by length groups takes "
          f"{statistics.median(ratios):.2f}x the time of the padded batch (median)")


if __name__ == "__main__":
    main()
