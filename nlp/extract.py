"""Fields read from a complaint's free text: what the citizen already said need not be asked.

Each field is configured, not coded: a ``FieldSpec`` (from config/questions.yaml and
config/extract.yaml) says what kind of value it is (``type``) and, where values of that kind
could be confused, which words must be in the same clause (``cues``). The text is read as the
classifier already segmented it (``Classification.tokens``: normalised Simplified Chinese), so
nothing is segmented twice; Chinese numbers go through ``cn2an``, dates through jionlp's time
parser (relative ones resolved against the message's date).

A field is filled only when the text says it clearly: when the clauses with a cue hold two
different values of the kind, the field stays empty and is asked. A wrong guess is worse than
a question.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import cn2an

with contextlib.redirect_stdout(io.StringIO()):   # jionlp and jiojio greet on stdout at import
    from jionlp.gadget.time_parser import TimeParser

log = logging.getLogger(__name__)

CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
NUM = rf"(?:\d+(?:\.\d+)?|[{CN_DIGITS}]+)"
MONTH = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
DAY = r"(?:3[01]|[12]\d|0?[1-9]|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
YEAR = r"(?:(?:19|20)\d{2}|[二一][〇零一二三四五六七八九]{3})"

CLAUSE_END = re.compile(r"[,.;!?，。；！？\n]|\.{2,}|…+")
_MONEY = re.compile(rf"(?:人民币)?({NUM})(万|千|百)?(?:多|余)?(元|块钱|块)|({NUM})(万)(?:多|余)?(?:元)?")
_COUNT = re.compile(
    rf"({NUM})(多|余)?(?:个|名|位|户|家)?(人|工人|农民工|员工|职工|学生|孩子|户|家庭|家|居民|"
    rf"业主|村民|老人|患者|消费者|会员|商户|农户)")
_YEAR = re.compile(rf"({YEAR})年")
_DATE = re.compile(
    rf"(?:{YEAR}年{MONTH}月(?:份)?(?:{DAY}[日号])?"
    rf"|(?:今年|去年|前年){MONTH}月(?:份)?(?:{DAY}[日号])?"
    rf"|(?:今年|去年|前年)?(?:年初|年底|年末)"
    rf"|{MONTH}月(?:份)?{DAY}[日号]"
    rf"|上(?:个)?(?:周|星期|礼拜)[一二三四五六日天1-7]"
    rf"|昨天|前天|本月初|上个月初"
    rf"|({NUM})(天|日|周|个星期|星期|个礼拜|礼拜|个月)(?:以前|之前|前))")
_PERIOD = re.compile(
    rf"({YEAR}年{MONTH}月(?:份)?|(?:今年|去年){MONTH}月(?:份)?|{MONTH}月(?:份)?)"
    rf"(?:一直)?(?:到|至|-|~|—|－)({YEAR}年{MONTH}月(?:份)?|{MONTH}月(?:份)?|现在|今天|目前)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_PLATE = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
                    r"\s?[A-Z]\s?[A-Z0-9]{5,6}")

SURNAME_SUFFIX = re.compile(r"^[\u4e00-\u9fff](?:某某?|总|经理|老板|师傅|工|老师|医生|主任|书记)$")
NAME_CUES = re.compile(r"(?:我叫|我是|本人|我的名字是|我名叫|姓名[:：]?|联系人[:：]?)([\u4e00-\u9fff]{2,4}?)"
                       r"(?=[,，。;；!！\s]|电话|手机|联系|，|$)")



@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    type: str
    cues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """The words the reading goes by (config/extract.yaml): how names of each kind end, the
    words a name never includes, titles before a person's name, and words that say a phone
    number is somebody else's."""

    ends: dict[str, tuple[str, ...]]      # kind (org, estate, place) → endings
    stop: frozenset[str]
    person_titles: tuple[str, ...]
    others: tuple[str, ...]

    @classmethod
    def parse(cls, raw: dict) -> Vocabulary:
        return cls(ends={k: tuple(v) for k, v in (raw.get("name_endings") or {}).items()},
                   stop=frozenset(raw.get("not_in_names") or ()),
                   person_titles=tuple(raw.get("person_titles") or ()),
                   others=tuple(raw.get("someone_else") or ()))


@dataclass(frozen=True, slots=True)
class Found:
    value: str
    start: int
    end: int


class Extractor:
    """Reads configured fields from normalised text. One per process (the time parser is
    built once); ``extract`` is CPU work of well under a millisecond for a usual complaint."""

    def __init__(self, words: Vocabulary) -> None:
        self.words = words
        self._time = TimeParser()

    # ------------------------------------------------------------ the one entry point

    def extract(self, text: str, tokens: Sequence[str], specs: Iterable[FieldSpec],
                today: date, *, shared: Iterable[str] = ()) -> dict[str, str]:
        """The fields the text states clearly: {key: normalised value}. ``text`` is the
        normalised text that ``tokens`` segment (``"".join(tokens) == text``). A piece of text
        fills one field, except for the ``shared`` ones (e.g. the place of the complaint, which
        may well be the project's site too)."""
        shared = set(shared)
        clauses = _clauses(text)
        bounds = _token_bounds(tokens, len(text), self.words.stop)
        found: dict[str, str] = {}
        taken: list[tuple[int, int]] = []
        seen: dict[str, list[Found]] = {}   # values of a kind, found once per text
        for spec in specs:
            finder = FINDERS.get(spec.type)
            if finder is None:
                continue
            key = spec.type if spec.type != "text" else f"text:{spec.cues}"
            if key not in seen:
                try:
                    seen[key] = finder(self, text, bounds, spec, today)
                except (ValueError, KeyError, IndexError, TypeError):
                    log.debug("extract: %s failed", spec.type, exc_info=True)
                    seen[key] = []
            candidates = seen[key]
            candidates = [c for c in candidates if _in_cued_clause(c, spec.cues, clauses, text)]
            if spec.key not in shared:
                candidates = [c for c in candidates
                              if not any(c.start < e and s < c.end for s, e in taken)]
            values = {c.value for c in candidates}
            if len(values) == 1:
                found[spec.key] = values.pop()
                if spec.key not in shared:
                    taken += [(c.start, c.end) for c in candidates]
        return found

    # ------------------------------------------------------------ kinds of value

    def _money(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _MONEY.finditer(text):
            if m.group(1) is not None:
                amount = _number(m.group(1)) * _UNIT.get(m.group(2), 1)
            else:
                amount = _number(m.group(4)) * 10000
            if amount > 0:
                out.append(Found(_plain_number(amount), m.start(), m.end()))
        return out

    def _count(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _COUNT.finditer(text):
            if m.start() > 0 and text[m.start() - 1] in "第号":
                continue
            n = _number(m.group(1))
            if n >= 1 and n == int(n):
                out.append(Found(f"{int(n)}{m.group(2) or ''}", m.start(), m.end()))
        return out

    def _year(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _YEAR.finditer(text):
            year = int(_number(m.group(1)))
            if 1949 <= year <= today.year:
                out.append(Found(str(year), m.start(), m.end()))
        return out

    def _date(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _DATE.finditer(text):
            value = self.resolve_date(m.group(0), today)
            if value:
                out.append(Found(value, m.start(), m.end()))
        return out

    def _period(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _PERIOD.finditer(text):
            first = self.resolve_date(m.group(1), today)
            if not first:
                continue
            end_text = m.group(2)
            if end_text in ("现在", "今天", "目前"):
                last = f"{today.year:04d}-{today.month:02d}"
            elif "年" in end_text or "今年" in end_text:
                last = self.resolve_date(end_text, today)
            else:
                last = self.resolve_date(f"{first[:4]}年{end_text}", today)
            if last and len(first) == len(last) and first <= last:
                out.append(Found(f"{first}至{last}", m.start(), m.end()))
        return out

    def _phone(self, text, bounds, spec, today) -> list[Found]:
        """The citizen's own number: not one said to be somebody else's."""
        out = []
        for m in _PHONE.finditer(text):
            before = text[max(0, m.start() - 8):m.start()]
            if any(word in before for word in self.words.others):
                continue
            number = m.group(1)
            if number.startswith("0") and "-" not in number:
                number = f"{number[:3]}-{number[3:]}" if number[1] in "12" else \
                    f"{number[:4]}-{number[4:]}"
            out.append(Found(number, m.start(), m.end()))
        return out

    def _plate(self, text, bounds, spec, today) -> list[Found]:
        return [Found(m.group(0).replace(" ", "").upper(), m.start(), m.end())
                for m in _PLATE.finditer(text)]

    def _name(self, text, bounds, spec, today) -> list[Found]:
        return [Found(m.group(1), m.start(1), m.end(1)) for m in NAME_CUES.finditer(text)
                if not SURNAME_SUFFIX.match(m.group(1))]

    def _org(self, text, bounds, spec, today) -> list[Found]:
        return _named(text, bounds, self.words.ends.get("org", ()))

    def _estate(self, text, bounds, spec, today) -> list[Found]:
        return _named(text, bounds, self.words.ends.get("estate", ()))

    def _place(self, text, bounds, spec, today) -> list[Found]:
        return _named(text, bounds, self.words.ends.get("place", ()), extend=True, min_len=4)

    def _person(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for title in self.words.person_titles:
            for m in re.finditer(rf"{title}([\u4e00-\u9fff](?:某某?|总|经理|老板|师傅))", text):
                out.append(Found(m.group(0), m.start(), m.end()))
        return out

    def _text(self, text, bounds, spec, today) -> list[Found]:
        """The rest of the clause after a cue word (only with cues)."""
        out = []
        for cue in spec.cues:
            for m in re.finditer(re.escape(cue), text):
                end = CLAUSE_END.search(text, m.end())
                value = text[m.end():end.start() if end else len(text)].strip(" :：")
                if 2 <= len(value) <= 60:
                    out.append(Found(value, m.end(), m.end() + len(value)))
        return out

    # ------------------------------------------------------------ dates

    def resolve_date(self, span: str, today: date) -> str | None:
        """``YYYY-MM-DD`` for a day, ``YYYY-MM`` for a month; None when it is vaguer."""
        rel = re.fullmatch(rf"({NUM})(天|日|周|个星期|星期|个礼拜|礼拜|个月)(?:以前|之前|前)", span)
        if rel:
            n = int(_number(rel.group(1)))
            if rel.group(2) == "个月":
                month = today.year * 12 + today.month - 1 - n
                return f"{month // 12:04d}-{month % 12 + 1:02d}"
            days = n * (1 if rel.group(2) in ("天", "日") else 7)
            return (today - timedelta(days=days)).isoformat()
        if span.endswith(("年底", "年末")):
            year = {"去年": today.year - 1, "前年": today.year - 2}.get(span[:2], today.year)
            return f"{year:04d}-12"
        if span.endswith("年初"):
            year = {"去年": today.year - 1, "前年": today.year - 2}.get(span[:2], today.year)
            return f"{year:04d}-01"
        if span == "上个月初":
            month = today.year * 12 + today.month - 2
            return f"{month // 12:04d}-{month % 12 + 1:02d}"
        plain = _plain_date(_arabic_dates(span), today)
        if plain is not None:
            return plain
        base = datetime(today.year, today.month, today.day, 12).timestamp()
        try:
            parsed = self._time(_arabic_dates(span), time_base=base)
        except (ValueError, KeyError, IndexError, TypeError):   # a span it cannot read
            return None
        if parsed.get("definition") != "accurate":
            return None
        first, last = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in parsed["time"][:2])
        explicit_year = bool(re.search(YEAR + "年|今年|去年|前年", span))
        if first.date() > today and not explicit_year:   # "12月5日" said in November: last year
            first, last = first.replace(year=first.year - 1), last.replace(year=last.year - 1)
        if first.date() == last.date():
            return first.date().isoformat()
        if first.day == 1 and (last + timedelta(seconds=1)).day == 1 and \
                (last - first).days < 31:
            return f"{first.year:04d}-{first.month:02d}"
        return None


FINDERS = {
    "money": Extractor._money, "count": Extractor._count, "year": Extractor._year,
    "date": Extractor._date, "period": Extractor._period, "phone": Extractor._phone,
    "plate": Extractor._plate, "org": Extractor._org, "estate": Extractor._estate,
    "place": Extractor._place, "person": Extractor._person, "text": Extractor._text,
    "name": Extractor._name,
}
_UNIT = {"万": 10000, "千": 1000, "百": 100}


@functools.lru_cache(maxsize=4096)
def _number(raw: str) -> float:
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    return float(cn2an.cn2an(raw, "smart"))


def _plain_number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _arabic_dates(span: str) -> str:
    """Chinese numerals in a date written as digits, for the time parser: 三月五日 → 3月5日."""
    return re.sub(f"[{CN_DIGITS}]+(?=[年月日号])",
                  lambda m: str(int(_number(m.group(0)))) if len(m.group(0)) < 4
                  else "".join(str("〇一二三四五六七八九".index(c)) if c in "〇一二三四五六七八九"
                               else "0" for c in m.group(0)), span)


_ABSOLUTE = re.compile(r"(?:(\d{4})年|(今年|去年|前年))?(\d{1,2})月(?:份)?(?:(\d{1,2})[日号])?")


def _plain_date(span: str, today: date) -> str | None:
    """Dates written out (2026年3月, 去年7月5日, 3月5日): worked out directly; the time parser
    is for the rest (上周五, 昨天 …)."""
    m = _ABSOLUTE.fullmatch(span)
    if not m:
        return None
    year_text, relative, month, day = m.groups()
    month = int(month)
    if year_text:
        year = int(year_text)
    elif relative:
        year = today.year - {"今年": 0, "去年": 1, "前年": 2}[relative]
    else:
        year = today.year
    if not 1 <= month <= 12:
        return ""
    if day is None:
        if not (year_text or relative) or (year, month) > (today.year, today.month):
            return "" if year_text or relative else None
        return f"{year:04d}-{month:02d}"
    try:
        when = date(year, month, int(day))
    except ValueError:
        return ""
    if when > today and not (year_text or relative):   # "12月5日" said in November: last year
        when = when.replace(year=year - 1)
    return when.isoformat() if when <= today else ""


def _clauses(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in CLAUSE_END.finditer(text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def _in_cued_clause(found: Found, cues: tuple[str, ...], clauses, text: str) -> bool:
    if not cues:
        return True
    for start, end in clauses:
        if start <= found.start < end or (start < found.end <= end):
            clause = text[start:end]
            return any(cue in clause for cue in cues)
    return False


_ADDRESS_MORE = re.compile(r"[0-9A-Za-z]+|[一二三四五六七八九十]+期")


def _token_bounds(tokens: Sequence[str], length: int,
                  stop: frozenset[str]) -> list[tuple[int, int, str, bool]]:
    """(start, end, token, whether it breaks a name) per token: worked out once per text."""
    out, at = [], 0
    for token in tokens:
        out.append((at, at + len(token), token, token in stop or not token[:1].isalnum()))
        at += len(token)
    return out if at == length else []


def _named(text: str, bounds, ends: tuple[str, ...], *, extend: bool = False,
           min_len: int = 3) -> list[Found]:
    """Names that end in one of ``ends`` (公司, 小区 …): the run of tokens before the ending
    that are not function words, verbs of complaint or punctuation."""
    if not bounds or not ends:
        return []
    out = []
    for i, (_, _, token, breaks) in enumerate(bounds):
        if breaks or not token.endswith(ends):
            continue
        last = i
        if extend:   # an address goes on while the next tokens still belong to it
            while last + 1 < len(bounds) and (bounds[last + 1][2].endswith(ends)
                                              or _ADDRESS_MORE.fullmatch(bounds[last + 1][2])):
                last += 1
        first = i
        while first > 0 and not bounds[first - 1][3]:
            first -= 1
        value = text[bounds[first][0]:bounds[last][1]]
        if len(value) >= min_len and value not in ends:
            out.append(Found(value, bounds[first][0], bounds[last][1]))
    return _outermost(out)


def _outermost(found: list[Found]) -> list[Found]:
    """Of overlapping names keep the longest (锦绣花园二期工地 over 锦绣花园)."""
    found = sorted(found, key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Found] = []
    for f in found:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out
