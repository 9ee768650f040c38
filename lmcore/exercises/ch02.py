"""Checkers of chapter 2, "From text to tokens"."""

from __future__ import annotations

from collections import Counter

from lmcore.exercises import exercise, expect, typical_mistake

# ---------------------------------------------------------------- 2.x count_pair_frequencies
_WORD_CASES = [
    {("l", "o", "w"): 5, ("l", "o", "w", "e", "r"): 2, ("n", "e", "w", "e", "s", "t"): 6,
     ("w", "i", "d", "e", "s", "t"): 3},                                  # Sennrich et al.'s toy
    {("a", "a", "a", "a"): 1},                                            # overlapping pairs
    {("t", "h", "e"): 10, ("th", "e"): 0, ("x",): 7},                    # zero counts, 1-symbol words
    {("Ġ", "to"): 3, ("to",): 4, ("Ġ", "be"): 2, ("Ġ", "to", "o"): 1},  # merged symbols
    {},
]


def _reference_pair_counts(word_counts):
    counts = Counter()
    for word, n in word_counts.items():
        for pair in zip(word, word[1:]):
            counts[pair] += n
    return counts


@exercise("ch02.count_pair_frequencies", function_name="count_pair_frequencies", points=2,
          title="Step 1 of BPE: count adjacent pairs, weighted by word frequency")
def _check_count_pair_frequencies(count_pair_frequencies):
    for word_counts in _WORD_CASES:
        got = count_pair_frequencies(dict(word_counts))
        expect(isinstance(got, dict),
               f"count_pair_frequencies should return a dict (a Counter is fine) of "
               f"(symbol, symbol) -> count; yours returned {type(got).__name__}.")
        want = _reference_pair_counts(word_counts)
        for pair, n in sorted(want.items()):
            expect(got.get(pair, 0) == n,
                   f"for the words {word_counts} the pair {pair} should have count {n} "
                   f"(each occurrence counts the word's frequency), yours is {got.get(pair, 0)}.")
        extra = {pair: n for pair, n in got.items() if n and pair not in want}
        expect(not extra, f"for the words {word_counts} you counted pairs that are not adjacent "
                          f"in any word: {dict(list(extra.items())[:3])}.")


_check_count_pair_frequencies.n_cases = len(_WORD_CASES)


@typical_mistake("ch02.count_pair_frequencies")
def _ignores_word_frequency(word_counts):
    counts = Counter()
    for word in word_counts:
        counts.update(zip(word, word[1:]))
    return counts


@typical_mistake("ch02.count_pair_frequencies")
def _counts_each_pair_once_per_word(word_counts):
    counts = Counter()
    for word, n in word_counts.items():
        for pair in set(zip(word, word[1:])):
            counts[pair] += n
    return counts


# ---------------------------------------------------------------- 2.x apply_merges
_MERGE_CASES = [
    ("lowest", [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w"), ("n", "e"), ("ne", "w"),
                ("new", "est"), ("low", "est")], ["lowest"]),
    ("newer", [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w"), ("n", "e"), ("ne", "w"),
               ("new", "est")], ["new", "e", "r"]),
    ("aaaaa", [("a", "a"), ("aa", "aa")], ["aaaa", "a"]),
    ("abc", [("b", "c"), ("a", "b")], ["a", "bc"]),             # rank beats position
    ("abab", [("a", "b"), ("b", "a")], ["ab", "ab"]),
    ("xyz", [("a", "b")], ["x", "y", "z"]),
    ("a", [("a", "b")], ["a"]),
    ("", [("a", "b")], []),
]


@exercise("ch02.apply_merges", function_name="apply_merges", points=2,
          title="Encode one word with ranked merges (GPT-2's rule)")
def _check_apply_merges(apply_merges):
    for word, merges, want in _MERGE_CASES:
        got = apply_merges(word, list(merges))
        expect(isinstance(got, list), f"apply_merges({word!r}, ...) should return a list of "
                                      f"strings; yours returned {type(got).__name__}.")
        expect(got == want,
               f"apply_merges({word!r}, {merges}) should give {want}, yours gives {got}. "
               "Remember: always merge the adjacent pair with the lowest rank (earliest in the "
               "list), every occurrence of it, and repeat until no adjacent pair has a rank.")


_check_apply_merges.n_cases = len(_MERGE_CASES)


@typical_mistake("ch02.apply_merges")
def _merges_only_the_first_occurrence(word, merges):
    symbols = list(word)
    for first, second in merges:
        for i in range(len(symbols) - 1):
            if symbols[i] == first and symbols[i + 1] == second:
                symbols[i:i + 2] = [first + second]
                break
    return symbols


@typical_mistake("ch02.apply_merges")
def _leftmost_pair_first_ignoring_rank(word, merges):
    symbols, known = list(word), set(merges)
    changed = True
    while changed:
        changed = False
        for i in range(len(symbols) - 1):
            if (symbols[i], symbols[i + 1]) in known:
                symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
                changed = True
                break
    return symbols


# ---------------------------------------------------------------- 2.x wordpiece_split
_VOCAB = {"[UNK]", "un", "una", "##aff", "##ffa", "##able", "##ble", "token", "##ization",
          "##s", "a", "##a", "play", "##ing", "p", "##l", "##a", "##y"}
_WORDPIECE_CASES = [
    ("unaffable", ["una", "##ffa", "##ble"]),
    ("tokenization", ["token", "##ization"]),
    ("tokens", ["token", "##s"]),
    ("playing", ["play", "##ing"]),
    ("aaa", ["a", "##a", "##a"]),
    ("tokenq", ["[UNK]"]),
    ("xyz", ["[UNK]"]),
    ("play", ["play"]),
]


@exercise("ch02.wordpiece_split", function_name="wordpiece_split", points=2,
          title="WordPiece: greedy longest match first, with ## continuations")
def _check_wordpiece_split(wordpiece_split):
    for word, want in _WORDPIECE_CASES:
        got = wordpiece_split(word, set(_VOCAB))
        expect(got == want,
               f"wordpiece_split({word!r}, vocab) should give {want}, yours gives {got} "
               f"(vocab = {sorted(_VOCAB)}).")


_check_wordpiece_split.n_cases = len(_WORDPIECE_CASES)


@typical_mistake("ch02.wordpiece_split")
def _no_continuation_prefix(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            if word[start:end] in vocab:
                pieces.append(word[start:end])
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces


@typical_mistake("ch02.wordpiece_split")
def _unk_only_for_the_bad_piece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            pieces.append("[UNK]")
            start += 1
    return pieces


@typical_mistake("ch02.wordpiece_split")
def _shortest_match_first(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(start + 1, len(word) + 1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces
