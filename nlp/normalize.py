"""Text normalisation: Traditional → Simplified (OpenCC), full-width → half-width (NFKC),
whitespace folded, salutations and boilerplate removed so they never count as evidence."""
from __future__ import annotations

import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")
_SPACES = re.compile(r"\s+")


def to_simplified(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation → half-width) then OpenCC t2s."""
    return _T2S.convert(unicodedata.normalize("NFKC", text))


def compile_boilerplate(phrases: list[str]) -> re.Pattern[str] | None:
    """One regex from the boilerplate patterns of ``config/keywords.yaml``."""
    return re.compile("|".join(f"(?:{p})" for p in phrases)) if phrases else None


class Normalizer:
    def __init__(self, boilerplate: list[str] | None = None):
        self._boilerplate = compile_boilerplate(boilerplate or [])

    def __call__(self, text: str) -> str:
        text = _SPACES.sub(" ", to_simplified(text or "")).strip()
        if self._boilerplate is not None:
            text = self._boilerplate.sub(" ", text)
        return text
