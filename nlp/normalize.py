"""Text normalisation: Traditional → Simplified (OpenCC), full-width → half-width (NFKC),
whitespace folded, salutations and boilerplate removed so they never count as evidence."""
from __future__ import annotations

import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")


# the characters that NFKC changes most often in Chinese text, with what it makes of them;
# replaced first, a text often needs no full NFKC pass (the same result, several times faster)
_COMMON = [(c, unicodedata.normalize("NFKC", c)) for c in "，？！：（）；…　"]


def to_simplified(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation → half-width) then OpenCC t2s."""
    for c, plain in _COMMON:
        text = text.replace(c, plain)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _T2S.convert(text)


def compile_boilerplate(phrases: list[str]) -> re.Pattern[str] | None:
    """One regex from the boilerplate patterns of ``config/keywords.yaml``. When they are made
    of plain characters, groups and ``|?*+`` only, a look-ahead for those characters comes
    first: the same matches, found several times faster (the alternatives are tried only
    where one of their characters is)."""
    if not phrases:
        return None
    body = "|".join(f"(?:{p})" for p in phrases)
    plain = all(not (set(p) & set("\\.[]{}^$")) and re.fullmatch(p, "") is None
                for p in phrases)
    if plain:
        chars = sorted(set("".join(phrases)) - set("()|?*+:"))
        body = f"(?=[{''.join(chars)}])(?:{body})"
    return re.compile(body)


class Normalizer:
    def __init__(self, boilerplate: list[str] | None = None):
        self._boilerplate = compile_boilerplate(boilerplate or [])

    def __call__(self, text: str) -> str:
        text = " ".join(to_simplified(text or "").split())   # whitespace folded, stripped
        if self._boilerplate is not None:
            text = self._boilerplate.sub(" ", text)
        return text
