"""Decide: every threshold that turns evidence or a checked answer into an abstention, in one place."""
from __future__ import annotations

from dataclasses import dataclass

from ..calibrate import Calibration
from ..grounding import Evidence
from ..settings import Settings
from ..types import Query


@dataclass(frozen=True)
class Thresholds:
    gate: float  # answerability log-odds below which the writer is not asked
    check: float  # answer-check log-odds each answer sentence (or a quote) needs


def thresholds(settings: Settings, calibration: Calibration) -> Thresholds:
    """The settings' thresholds, else the ones placed on the reader's answers as its judge model reads them."""
    gate, check = settings.abstain_threshold, settings.check_threshold
    if gate is None or check is None:
        placed = calibration.placement(settings.reader)
        gate, check = placed.gate if gate is None else gate, placed.check if check is None else check
    return Thresholds(gate, check)


def worth_judging(evidence: Evidence, query: Query, relevance_floor: float) -> bool:
    """On-topic at all, and the best evidence holds the kind of answer asked for (an amount, a count). A
    follow-up to an on-topic question is on-topic, though its own words may be as few as "In what year?"."""
    return (evidence.relevance >= relevance_floor or query.topic is not None) and evidence.fits


def answerable(evidence: Evidence, limits: Thresholds) -> bool:
    return evidence.judge is not None and evidence.judge >= limits.gate
