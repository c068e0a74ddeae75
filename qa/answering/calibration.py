"""The stored answerability calibration the answering stages read: per judge model, the logistic weights that
turn its yes/no log-odds for each phrasing of prompts.JUDGES (and the evidence relevance) into log-odds that the
question is answerable, and, per reader model that writes the answers it judges, the abstention and
answer-check thresholds. Fitting them (`qa calibrate`) is qa.eval.calibrate's; this module only loads what it
wrote, with the model's and the data's hashes, so numbers fitted for one model never serve another silently."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import ModelError

FOLDER = Path(__file__).resolve().parent.parent / "calibration"


@dataclass(frozen=True)
class Placed:
    """The two thresholds placed on one reader's answers: a stronger reader's answers are right more often
    at the same judge log-odds, so each reader gets its own."""
    reader: str
    gate: float  # answerability log-odds below which the reader is not asked
    check: float  # log-odds of the answer check (Answerer.entails) an answer sentence needs
    data: str  # the fit sets whose answers placed them, with their sha256


@dataclass(frozen=True)
class Calibration:
    model: str
    model_sha256: str
    weights: tuple[float, ...]  # per phrasing of prompts.JUDGES
    relevance: float
    bias: float
    data: str
    data_sha256: str
    questions: int
    placed: tuple[Placed, ...] = ()
    borrowed_from: str | None = None  # fitted to this other model: see borrowed_by

    def borrowed_by(self, model: str, reader: str, own_reader: str) -> "Calibration":
        """This calibration, and its thresholds for `own_reader`, lent to a model that has none of its own."""
        lent = replace(self.placement(own_reader), reader=reader)
        return replace(self, model=model, placed=(lent,), borrowed_from=self.model)

    @property
    def warning(self) -> str | None:
        if self.borrowed_from is None:
            return None
        return (f"{self.model} has no calibration of its own: its answers are gated and checked with the weights "
                f"and thresholds fitted for {self.borrowed_from}, which may not suit it; "
                f"run `qa calibrate` with QA_LLM set to fit its own")

    def placement(self, reader: str) -> Placed:
        found = next((p for p in self.placed if p.reader == reader), None)
        if found is None:
            raise ModelError(f"no thresholds placed for reader '{reader}' with judge '{self.model}'; run "
                             f"`qa calibrate --threshold-only` with that profile")
        return found

    def with_placement(self, placed: Placed) -> "Calibration":
        return replace(self, placed=tuple(p for p in self.placed if p.reader != placed.reader) + (placed,))

    def answerability(self, judges: list[float], relevance: float) -> float:
        return sum(w * j for w, j in zip(self.weights, judges, strict=True)) + self.relevance * relevance + self.bias

    def save(self, folder: Path = FOLDER) -> Path:
        path = folder / f"{self.model}.json"
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path


def load(model: str, folder: Path = FOLDER) -> Calibration:
    path = folder / f"{model}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no answerability calibration for judge model '{model}'; run `qa calibrate` "
                         f"with that model (it writes {path})") from None
    return Calibration(**{**data, "weights": tuple(data["weights"]),
                          "placed": tuple(Placed(**p) for p in data.get("placed", ()))})
