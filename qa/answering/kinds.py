"""What kind of answer a question asks for ("How many …?" a quantity, "Who …?" a name), and the words that
make each kind. decide.adds_kind applies them."""
from __future__ import annotations

import re

from ..lexical import stem

# Things that go by a proper name.
NAMED = ("company", "companies", "firm", "automaker", "carmaker", "airline", "bank", "brand", "retailer", "network",
         "country", "countries", "nation", "state", "states", "city", "cities", "province", "region", "island",
         "show", "series", "movie", "film", "song", "album", "book", "singer", "band", "rapper", "actor", "actress",
         "team", "club", "league", "player", "athlete", "star", "president", "leader", "politician", "senator",
         "party", "agency", "organization", "organisation", "university", "newspaper", "app", "platform")
# First match wins.
ANSWER_TYPES = (
    (re.compile(r"^\W*(\w+ )?(how much\b.*\b(cost|costs|pay|paid|spend|spent|worth|price|charge|charged|"
                r"money|budget|invest|invested|earn|earned)\b|what (price|cost|fee|salary)\b)", re.I), "money"),
    (re.compile(r"^\W*(\w+ )?(how many|what (percentage|percent|number|share|stake|proportion|fraction))\b",
                re.I), "count"),
    (re.compile(r"^\W*(\w+ )?(how (much|long|old|far|large|big|tall|high|often)|what (amount|price|cost))\b",
                re.I), "number"),
    (re.compile(r"^\W*(when|in what year|what (year|date|day|month|century|decade))\b", re.I), "time"),
    (re.compile(r"^\W*(who|whom|whose)\b", re.I), "name"),
)
# "Which show …?", "What country …?": a thing that goes by a name, so the answer must name one: kind "name:show".
NAMED_THING = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}?(" + "|".join(NAMED) + r")\b", re.I)
# Kinds no answer can lack, so evidence without them cannot answer. The others only check the model's
# claims: "When?" may be answered "under the Tang dynasty", "Who?" by "other members" (SQuAD dev: making
# them hard too lost right answers).
HARD_KINDS = frozenset({"money", "count"})
QUANTITY_STEMS = frozenset(map(stem, "eleven thirteen fourteen fifteen sixteen seventeen eighteen nineteen sixty seventy "
                           "eighty ninety thousand million billion trillion dozen dozens hundreds thousands millions "
                           "billions several half quarter twice once double triple majority minority".split()))
# An amount of money: a currency, or a sum in millions or billions (news rarely counts anything else so).
MONEY = re.compile(r"[$€£¥₹₽₩₺]|\b(dollars?|euros?|pounds|yen|yuan|renminbi|roubles?|rubles?|rupees?|tenge|francs?|"
                   r"cents?|pesos?|krona|kronor|krone|kroner|won|lira|shekels?|dirhams?|rand|zloty|reais|"
                   r"USD|EUR|GBP|million|billion|trillion|bn|mln)\b", re.I)
TIME_WORDS = frozenset("january february march april may june july august september october november december "
                       "monday tuesday wednesday thursday friday saturday sunday century decade year month week day "
                       "ago last next early late spring summer autumn fall winter".split())


def answer_kind(question: str) -> str | None:
    kind = next((kind for pattern, kind in ANSWER_TYPES if pattern.search(question)), None)
    thing = NAMED_THING.search(question) if kind is None else None
    return f"name:{thing.group(1).lower()}" if thing else kind
