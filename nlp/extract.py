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
SENTENCE_END = re.compile(r"[.;!?。；！？\n]|\.{2,}|…+")
NAMES = ("org", "estate", "person", "project")   # their cues may be anywhere in the sentence
_MONEY = re.compile(rf"(?:人民币)?({NUM})(万|千|百)?(多|余)?(元|块钱|块)|({NUM})(万)(多|余)?(?:元)?")
_COUNT = re.compile(
    rf"({NUM})(多|余)?(?:个|名|位|户|家|口)?(人|工人|农民工|工友|员工|职工|学生|孩子|户|家庭|家|居民|"
    rf"业主|村民|老人|患者|消费者|会员|商户|农户|家长)")
_MONTHS = re.compile(rf"({NUM})个(?:多)?月")
_YEAR = re.compile(rf"({YEAR})年")
_DATE = re.compile(
    rf"(?:{YEAR}年{MONTH}月(?:份)?(?:{DAY}[日号])?"
    rf"|(?:今年|去年|前年){MONTH}月(?:份)?(?:{DAY}[日号])?"
    rf"|(?:今年|去年|前年)?(?:年初|年底|年末)"
    rf"|(?:今年|去年)?{MONTH}月(?:份)?(?:底|初|中旬|上旬|下旬)"
    rf"|上个月"
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
    admin: tuple[str, ...] = ()
    address_tail: tuple[str, ...] = ()
    not_names: frozenset[str] = frozenset()
    not_places: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: dict) -> Vocabulary:
        return cls(ends={k: tuple(v) for k, v in (raw.get("name_endings") or {}).items()},
                   stop=frozenset(str(w) for w in raw.get("not_in_names") or ()),
                   person_titles=tuple(raw.get("person_titles") or ()),
                   others=tuple(raw.get("someone_else") or ()),
                   admin=tuple(raw.get("admin_endings") or ()),
                   address_tail=tuple(raw.get("address_tail") or ()),
                   not_names=frozenset(raw.get("not_names") or ()),
                   not_places=frozenset(raw.get("not_places") or ()))


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
        sentences = _clauses(text, SENTENCE_END)
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
            scope = sentences if spec.type in NAMES else clauses
            candidates = [c for c in candidates if _in_cued_clause(c, spec.cues, scope, text)]
            if spec.key not in shared:
                candidates = [c for c in candidates
                              if not any(c.start < e and s < c.end for s, e in taken)]
            values = {c.value for c in candidates}
            if len(values) > 1 and spec.type in PREFER:
                values = PREFER[spec.type](values)
            if len(values) == 1:
                found[spec.key] = values.pop()
                if spec.key not in shared:
                    taken += [(c.start, c.end) for c in candidates]
        return found

    # ------------------------------------------------------------ kinds of value

    def _money(self, text, bounds, spec, today) -> list[Found]:
        out = []
        for m in _MONEY.finditer(text):
            if m.group(3) or m.group(7):
                continue    # 两万多元: about, not an amount to record
            if m.group(1) is not None:
                amount = _number(m.group(1)) * _UNIT.get(m.group(2), 1)
            else:
                amount = _number(m.group(5)) * 10000
            before = CLAUSE_END.split(text[max(0, m.start() - 8):m.start()])[-1]
            if amount > 0 and not _PER_UNIT.search(before):   # not a unit price (每亩, 每月 …)
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

    def _months(self, text, bounds, spec, today) -> list[Found]:
        """How many months (断缴了9个月): the number."""
        out = []
        for m in _MONTHS.finditer(text):
            n = _number(m.group(1))
            if n >= 1 and n == int(n):
                out.append(Found(str(int(n)), m.start(), m.end()))
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
        spans = [m.span() for m in _PERIOD.finditer(text)]
        for m in _DATE.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
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
        return _named(text, bounds, self.words.ends.get("org", ()), self.words, keep_admin=True)

    def _project(self, text, bounds, spec, today) -> list[Found]:
        return _named(text, bounds, self.words.ends.get("project", ()), self.words,
                      keep_admin=True)

    def _estate(self, text, bounds, spec, today) -> list[Found]:
        return _named(text, bounds, self.words.ends.get("estate", ()), self.words,
                      keep_admin=False, tail=True)

    def _place(self, text, bounds, spec, today) -> list[Found]:
        """An address: one that starts with its city, county or district, or has a number."""
        projects = self.words.ends.get("project", ())
        return [f for f in _address(text, bounds, self.words)
                if (_ADMIN_START.match(f.value) or _NUMBERED.search(f.value))
                and not f.value.endswith(projects)]

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
        month_part = re.fullmatch(rf"((?:今年|去年)?{MONTH}月)(?:份)?(?:底|初|中旬|上旬|下旬)", span)
        if month_part:
            span = month_part.group(1)
        if span == "上个月":
            month = today.year * 12 + today.month - 2
            return f"{month // 12:04d}-{month % 12 + 1:02d}"
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
    "months": Extractor._months,
    "date": Extractor._date, "period": Extractor._period, "phone": Extractor._phone,
    "plate": Extractor._plate, "org": Extractor._org, "estate": Extractor._estate,
    "place": Extractor._place, "project": Extractor._project, "person": Extractor._person, "text": Extractor._text,
    "name": Extractor._name,
}
_UNIT = {"万": 10000, "千": 1000, "百": 100}
_PER_UNIT = re.compile(r"每(?:个|一)?(?:亩|平|月|户|天|日|年|斤|小时|公里|吨|度|方)")
_ADMIN_START = re.compile(r"^(?:[A-Z]|[\u4e00-\u9fff]{2,3})[省市县区](?![场政民门旁])")
_NUMBERED = re.compile(r"\d+号")


def _fullest(values: set[str]) -> set[str]:
    """Of a place named several ways, the fullest, when it holds all the others
    (A市C区幸福里小区 over 幸福里小区); else the one that starts with its city or district."""
    whole = {v for v in values if all(o in v for o in values)}
    if len(whole) == 1:
        return whole
    rooted = {v for v in values if _ADMIN_START.match(v)}
    return rooted if len(rooted) == 1 else values


PREFER = {"place": _fullest, "org": _fullest, "estate": _fullest}


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


def _clauses(text: str, ends: re.Pattern = CLAUSE_END) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in ends.finditer(text):
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


def _ending_at(text: str, bounds, i: int, ends: tuple[str, ...]) -> int | None:
    """The token where an ending that finishes with token ``i`` begins (endings may span
    tokens: 康桥 + 水 + 郡), or None when no ending finishes there."""
    end = bounds[i][1]
    if not text.endswith(ends, 0, end):
        return None
    longest = max((e for e in ends if text.endswith(e, 0, end)), key=len)
    k, start = i, end - len(longest)
    while k > 0 and bounds[k][0] > start:
        k -= 1
    return k if bounds[k][0] == start or k == i else None


def _tail(bounds, last: int, tail: tuple[str, ...]) -> int:
    """Go on over what follows a name and belongs to it: 二期, 3号楼, 附近."""
    while last + 1 < len(bounds) and (bounds[last + 1][2] in tail or (
            not bounds[last + 1][3] and _ORDINAL.fullmatch(bounds[last + 1][2]))):
        last += 1
    while last > 0 and _ORDINAL.fullmatch(bounds[last][2]) and \
            not bounds[last][2].endswith("期"):
        last -= 1   # a bare number after a name is not part of it
    return last


def _named(text: str, bounds, ends: tuple[str, ...], words: Vocabulary, *,
           keep_admin: bool, tail: bool = False) -> list[Found]:
    """Names that end in one of ``ends`` (公司, 小区 …): the run of tokens before the ending that
    are not function words, verbs of complaint, punctuation or the end of another name; an
    administrative unit (A市) is kept with its own name only (``keep_admin``) or left out."""
    if not bounds or not ends:
        return []
    out = []
    for i, (_, _, _, breaks) in enumerate(bounds):
        if breaks:
            continue
        k = _ending_at(text, bounds, i, ends)
        if k is None:
            continue
        first = k
        while first > 0:
            _, _, before, stops = bounds[first - 1]
            if stops or before.endswith(("公司", "集团")):   # another name ends there
                break
            if before.endswith(words.admin):
                if not keep_admin:
                    break
                while first > 0 and bounds[first - 1][2].endswith(words.admin):   # A市 B区 …
                    first -= 1
                    if first > 0 and not bounds[first - 1][3] and \
                            len(bounds[first - 1][2]) <= 2 and \
                            not bounds[first - 1][2].endswith(words.admin):
                        first -= 1
                break
            first -= 1
        last = _tail(bounds, i, ()) if tail else i   # 二期, not 3号楼
        value = text[bounds[first][0]:bounds[last][1]]
        if len(value) >= 3 and value not in words.not_names:
            out.append(Found(value, bounds[first][0], bounds[last][1]))
    return _outermost(out)


def _address(text: str, bounds, words: Vocabulary) -> list[Found]:
    """Addresses and places: from the first place word (A市, 幸福路, 锦绣花园 …) on through the
    words that still belong to it, ending at the last place word or its number (18号, 3号楼)."""
    if not bounds:
        return []
    ends, tail = words.ends.get("place", ()), words.address_tail
    out, i = [], 0
    while i < len(bounds):
        start, _, token, breaks = bounds[i]
        k = None if breaks or token in words.not_places else _ending_at(text, bounds, i, ends)
        if k is None:
            i += 1
            continue
        first = k     # the place word's own name before it (锦绣 + 花园, A + 市)
        while first > 0 and not bounds[first - 1][3] and len(bounds[first - 1][2]) <= 4 and \
                not bounds[first - 1][2].endswith(ends) and k - first < 3 and \
                not _NOT_A_NAME.fullmatch(bounds[first - 1][2]):
            first -= 1
        last, j = i, i + 1
        while j < len(bounds) and not bounds[j][3]:
            piece = bounds[j][2]
            if (_ending_at(text, bounds, j, ends) is not None and piece not in words.not_places) \
                    or piece in tail:
                last = j
            elif not (piece.isdigit() or piece.isascii() or _ORDINAL.fullmatch(piece)):
                if j - last > 2:
                    break
            j += 1
        last = _tail(bounds, last, tail)
        value = text[bounds[first][0]:bounds[last][1]]
        if len(value) >= 3 and value not in words.not_names and not _DATE.fullmatch(value) \
                and not _names_more(text, bounds, last, words.ends.get("org", ())):
            out.append(Found(value, bounds[first][0], bounds[last][1]))
        i = last + 1
    return out


_NOT_A_NAME = re.compile(r"\d+|.*[年月日号]")


def _names_more(text: str, bounds, last: int, org_ends: tuple[str, ...]) -> bool:
    """Whether the place goes straight on into an organisation's name (A市C区 + 社区卫生服务中心,
    盛世 + 华庭 + 置业有限公司): then it is that name's beginning, not a place of its own."""
    j = last + 1
    while j < len(bounds) and not bounds[j][3] and j - last <= 4:
        if _ending_at(text, bounds, j, org_ends) is not None:
            return True
        j += 1
    return False


_ORDINAL = re.compile(r"[一二三四五六七八九十]+期|[0-9]+")


def _outermost(found: list[Found]) -> list[Found]:
    """Of overlapping names keep the longest (锦绣花园二期工地 over 锦绣花园)."""
    found = sorted(found, key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Found] = []
    for f in found:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out
