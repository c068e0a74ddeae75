"""Evidence of small articles through the real evidence stage, with the fake embedder, and the verify + cite
stages run as the Answerer runs them."""
from qa.answering import cite, verify
from qa.answering.decide import Thresholds
from qa.answering.evidence import select_evidence
from qa.index.search import idf_table
from qa.ingest import make_article
from qa.prompts import entailment
from qa.types import Passage, Query, Trace

from ..conftest import FakeEmbedder, FakeGenerator

TEXT = ("Cove Capital LLC acquired 70% of the shares in two deposits. The fund will retain 30% of the shares. "
        "The meeting participants announced plans to acquire 40 aircraft from Boeing Co. "
        "Bloomberg reported the deal on Monday.")
ART = make_article("news", TEXT, "News")


def evidence_for(question, budget=4, text=ART.text):
    passage = Passage("news", "News", text, 0, len(text), 1.0)
    texts = {"news": text}
    query = question if isinstance(question, Query) else Query(question)
    return select_evidence(query, [passage], texts, FakeEmbedder(), idf_table([text]), budget), texts


def evidence_of(question, *articles, budget=4):
    """Evidence for `question` from whole articles, each retrieved as one passage."""
    texts = {a.id: a.text for a in articles}
    passages = [Passage(a.id, a.title, a.text, 0, len(a.text), 1.0, a.date) for a in articles]
    return select_evidence(Query(question), passages, texts, FakeEmbedder(), idf_table(list(texts.values())),
                           budget), texts


def fake_check(asked):
    """The fake judge's reading of each Claimed."""
    return FakeGenerator().judge([entailment(c.question, c.passage, c.claim) for c in asked])


def ground(question, raw, evidence, texts, entails=None, check_threshold=0.0):
    """The draft `raw` verified and cited as Answerer.stream does it after the model has written."""
    limits = Thresholds(gate=0.0, check=check_threshold)
    verified = verify.verify(question, raw, evidence, entails, limits)
    return cite.settle(question, raw, verified, evidence, texts, entails, limits, Trace(question, question))
