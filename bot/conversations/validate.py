"""Checks and normalisation of what citizens type. Pure functions, no I/O."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Mainland area codes: 010 and 020–029 have three digits, every other one four.
_LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})(\d{7,8})(?:(?:转|-|#|ext)(\d{1,6}))?$")
_CJK_OR_ALNUM = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")


def normalize(text: str) -> str:
    """Full-width letters, digits and punctuation to half-width; trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def has_words(text: str) -> bool:
    return bool(_CJK_OR_ALNUM.search(text))


def word_count(text: str) -> int:
    return len(_CJK_OR_ALNUM.findall(text))


def parse_phone(text: str) -> str | None:
    """A mainland mobile (13812345678) or landline (010-12345678) number, or None."""
    raw = normalize(text)
    raw = re.sub(r"[\s()（）\u2010-\u2015\-]", "", raw)
    raw = re.sub(r"^(\+?86)(?=1[3-9]\d{9}$)", "", raw)
    if _MOBILE.match(raw):
        return raw
    m = _LANDLINE.match(raw)
    if m:
        area, number, ext = m.groups()
        return f"{area}-{number}" + (f"转{ext}" if ext else "")
    return None


def parse_money(text: str) -> str | None:
    """'3.5万', '35000元', '35,000' → '35000'."""
    raw = normalize(text).replace(",", "").replace("，", "")
    m = re.fullmatch(r"(?:约|大约|共|一共)?\s*(\d+(?:\.\d+)?)\s*(万|千)?\s*(?:元|块|块钱)?(?:左右|多)?", raw)
    if not m:
        return None
    value = float(m.group(1)) * {"万": 10000, "千": 1000, None: 1}[m.group(2)]
    if value <= 0 or value > 1e10:
        return None
    return f"{value:.2f}".rstrip("0").rstrip(".")


def parse_count(text: str) -> str | None:
    """'12', '30多人', '约50名' → the number as written, digits only kept with 多/余."""
    raw = normalize(text)
    m = re.fullmatch(r"(?:约|大约|共|一共)?\s*(\d{1,6})\s*(多|余)?\s*(?:个|名|位)?\s*(?:人|工人)?", raw)
    if not m or int(m.group(1)) == 0:
        return None
    return m.group(1) + (m.group(2) or "")


def parse_year(text: str, this_year: int) -> str | None:
    raw = normalize(text)
    m = re.fullmatch(r"(\d{4})\s*年?", raw)
    if not m or not (1949 <= int(m.group(1)) <= this_year):
        return None
    return m.group(1)


def answer_value(q, raw: str, now: datetime) -> str | int | None:
    """A typed answer to a category question (``config.catalog.Question``: its ``type`` and
    ``choices``) as stored, or None when it is not one: the chat's and the open API's check."""
    if q.type == "choice":
        return raw if raw in q.choices else None
    if q.type == "money":
        return parse_money(raw)
    if q.type == "count":
        return parse_count(raw)
    if q.type == "year":
        return parse_year(raw, now.year)
    return raw if has_words(raw) else None
