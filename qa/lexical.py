"""Word-level text features shared by BM25 retrieval and answer verification."""
from __future__ import annotations

import re

_WORD = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
according said says say told per via within without upon onto among amongst whose whatever whichever
many much one ones kind type use used using
""".split())
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "twelve": "12", "twenty": "20", "thirty": "30",
                "forty": "40", "fifty": "50", "hundred": "100"}


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def stem(word: str) -> str:
    """A deliberately light suffix stripper: enough to match 'deposits'/'deposit' and
    'acquired'/'acquire' without conflating unrelated words."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in NUMBER_WORDS:
        return NUMBER_WORDS[w]
    if w[:1].isdigit():
        return w.replace(",", "").rstrip("%")
    for suffix, keep in (("ies", 3), ("ing", 5), ("ed", 4), ("es", 4), ("s", 3), ("ly", 4)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep - 1 and not w.endswith("ss"):
            w = w[: -len(suffix)]
            if suffix == "ies":
                w += "y"
            break
    return w.rstrip("e") if len(w) > 4 else w


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def is_number(token: str) -> bool:
    return token[:1].isdigit()


def names(text: str) -> set[str]:
    """Stems of capitalised words that do not start a sentence, and of numbers: the parts of a
    claim that must appear, verbatim, in what it cites. Tokens are the ones content_stems() sees, so a
    name is always something a cited text can contain ("U.S." or "C5+1" split into letters and digits)."""
    found = set()
    for match in _WORD.finditer(text):
        word = match.group()
        if (word[0].isupper() and len(word) > 1 and word.lower() not in STOPWORDS
                and not _opens_sentence(text, match.start())):
            found.add(stem(word))
    found.update(s for s in map(stem, words(text)) if is_number(s))  # "six" and "6" alike
    return found


def _opens_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 12):start].rstrip(" \t\n\"'“‘([")
    return not before or before[-1] in ".!?:"
