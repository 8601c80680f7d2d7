"""The classifier interface the engine calls. Implementations live beside it in ``nlp/``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Flag:
    """Flags a handler must see at once (stable identifiers; their words are ``flag_label_*`` in
    texts.yaml)."""

    COLLECTIVE = "collective"      # 集体访: many people
    ESCALATION = "escalation"      # 进京、跳楼、自杀、堵路 …
    LITIGATION = "litigation"      # already in court / arbitration / review: 诉访分离
    OFFICIAL = "official"          # report against an official: 纪检监察, confidential
    UTILITY = "utility"            # 停水、停电、断气: urgent


@dataclass(frozen=True, slots=True)
class Category:
    level1: str
    level2: str = ""
    level3: str = ""

    @property
    def path(self) -> str:
        return " › ".join(p for p in (self.level1, self.level2, self.level3) if p)


@dataclass(slots=True)
class Classification:
    category: Category
    confidence: tuple[float, float, float]          # per level, 0..1
    top3: list[tuple[str, float]]                   # first-level candidates with scores
    evidence: list[str]                             # deciding words, heaviest first
    department: str
    flags: list[str] = field(default_factory=list)  # values of ``Flag``
    unsure: bool = False                            # ask the citizen to confirm/pick
    also_departments: list[str] = field(default_factory=list)  # told too (joint handling)
    tokens: list[str] = field(default_factory=list)  # the text's jieba tokens, normalised
    # (Simplified, half-width): what the field extraction reads, so nothing is segmented twice


class Classifier(Protocol):
    def classify(self, text: str, title: str = "") -> Classification: ...
