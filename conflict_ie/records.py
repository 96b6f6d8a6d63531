"""What ``predict()`` returns: frozen dataclasses with character offsets into the caller's original string."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class SpanPrediction:
    """A predicted entity or incident trigger: ``text[start:end] == self.text``."""

    start: int
    end: int
    text: str
    label: str
    score: float


@dataclass(frozen=True)
class RelationPrediction:
    head: SpanPrediction
    tail: SpanPrediction
    label: str
    score: float


@dataclass(frozen=True)
class Count:
    """A casualty figure: "at least 40" -> minimum 40, maximum None; "40" -> 40..40; "dozens" -> 24..None."""

    span: SpanPrediction
    minimum: int | None
    maximum: int | None
    qualifier: str  # "exact", "at least", "more than", "about", "at most", "fewer than", "range", "vague", "unparsed"


@dataclass(frozen=True)
class DateValue:
    """A date span resolved where possible: ``iso`` like 2019-06-29 / 2019-06 / 2019 and its precision."""

    span: SpanPrediction
    iso: str | None
    precision: str | None  # "day", "month", "year" or None when unresolved


@dataclass(frozen=True)
class Place:
    """A place span with the hierarchy the article or the gazetteer gives (most specific first)."""

    span: SpanPrediction
    hierarchy: tuple[str, ...]
    country: str | None = None
    admin1: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Incident:
    type: str
    event_type: str
    sub_event_type: str
    triggers: tuple[SpanPrediction, ...]
    dates: tuple[DateValue, ...] = ()
    places: tuple[Place, ...] = ()
    attackers: tuple[SpanPrediction, ...] = ()
    targets: tuple[SpanPrediction, ...] = ()
    victims: tuple[SpanPrediction, ...] = ()
    instruments: tuple[SpanPrediction, ...] = ()
    fatalities: tuple[Count, ...] = ()
    injuries: tuple[Count, ...] = ()
    sources: tuple[SpanPrediction, ...] = ()
    confidence: float = 0.0
    evidence: tuple[SpanPrediction, ...] = ()  # sentences, label "sentence"
    # ACLED's "Civilian targeting" mark: the targets or victims named are civilians only (incidents/coding.py)
    civilian_targeting: bool = False

    @property
    def fatalities_min(self) -> int | None:
        values = [c.minimum for c in self.fatalities if c.minimum is not None]
        return max(values) if values else None


@dataclass(frozen=True)
class ArticleResult:
    entities: tuple[SpanPrediction, ...] = ()
    triggers: tuple[SpanPrediction, ...] = ()
    relations: tuple[RelationPrediction, ...] = ()
    incidents: tuple[Incident, ...] = field(default_factory=tuple)
    # layers the model was not trained on (its training data did not annotate them): always empty here, and no
    # incident can be assembled without triggers
    untrained_layers: tuple[str, ...] = ()
    # mentions that fill an attacker, target, victim or instrument role in some incident of the article (the
    # document-level role-filler layer; labels in schema.ROLE_FILLER_LABELS), every occurrence
    role_fillers: tuple[SpanPrediction, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
