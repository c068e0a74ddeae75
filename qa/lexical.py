"""Word-level text features shared by BM25 retrieval and answer verification."""
from __future__ import annotations

import re
from functools import lru_cache

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


# Irregular past forms, so that "Who will build the ferries?" meets "The ferries will be built": a suffix
# stemmer cannot relate them. Only forms that are rarely another word ("left", "saw" are not here).
IRREGULAR = dict(pair.split(":") for pair in """
became:become began:begin begun:begin bought:buy brought:bring built:build caught:catch chose:choose
chosen:choose came:come dealt:deal drew:draw drawn:draw drove:drive driven:drive fed:feed fled:flee
flew:fly flown:fly fought:fight forgot:forget forgotten:forget froze:freeze frozen:freeze gave:give
given:give gone:go went:go grew:grow grown:grow heard:hear held:hold hid:hide hidden:hide kept:keep
knew:know known:know laid:lay led:lead lent:lend lost:lose made:make meant:mean met:meet paid:pay
ran:run rose:rise risen:rise sent:send shown:show shot:shoot sold:sell sought:seek spent:spend
spoke:speak spoken:speak stole:steal stolen:steal stood:stand struck:strike swore:swear sworn:swear
taken:take took:take taught:teach thought:think threw:throw thrown:throw told:tell understood:understand
withdrew:withdraw withdrawn:withdraw won:win wore:wear worn:wear wrote:write written:write
""".split())


@lru_cache(maxsize=1)
def _snowball():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter 2) English stems, which relate 'vote'/'voted' and 'ferry'/'ferries' where the
    hand-written suffix stripper before it did not; numbers as digits ("six" and "6" alike)."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in NUMBER_WORDS:
        return NUMBER_WORDS[w]
    if w[:1].isdigit():
        return w.replace(",", "").rstrip("%")
    return _snowball().stemWord(_american(IRREGULAR.get(w, w)))


_ISE = re.compile(r"(?<=\w{3})is(e|es|ed|ely|ing|ingly|ation|ations|er|ers)$")
_OUR = re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able|er|ers)?$")
_TRE = re.compile(r"(?<=\w{3})tre(s)?$")


def _american(word: str) -> str:
    """One spelling for both sides of the Atlantic: the model writes "criticized" about an article that
    says "criticised", and a claim must find its words in what it cites."""
    return _TRE.sub(r"ter\1", _OUR.sub(r"or\1", _ISE.sub(r"iz\1", word)))


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
