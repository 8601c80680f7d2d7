"""Everything under the configured folder, loaded once into one ``Catalog`` and passed in:
texts, departments, questions, leaders, rating, the category tree, routing, the case
lifecycle with its deadlines and holiday calendar, the early-warning rules and the hours of live
reception."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cases.deadlines import DeadlineRules, WorkCalendar, parse_rules
from cases.lifecycle import Lifecycle, parse_lifecycle
from cases.live import LiveRules
from cases.matters import WarningRule
from cases.reception import ReceptionRules
from config.settings import CONFIG_DIR
from nlp.extract import FieldSpec, Vocabulary
from nlp.rules import RoutingRules, read_yaml
from nlp.taxonomy import Taxonomy
from storage.models import Rating


def _spec(row: dict) -> FieldSpec:
    return FieldSpec(str(row["key"]), str(row.get("type", "text")), tuple(row.get("cues") or ()))


def load_calendar(path: Path) -> WorkCalendar:
    return WorkCalendar.parse(read_yaml(path), path)


def load_rules(path: Path, calendar: WorkCalendar) -> DeadlineRules:
    return parse_rules(read_yaml(path), calendar, path)


def load_lifecycle(path: Path, rules: DeadlineRules) -> Lifecycle:
    return parse_lifecycle(read_yaml(path), rules, path)


@dataclass(frozen=True, slots=True)
class Department:
    key: str
    name: str
    chat_id: int | None = None
    staff: tuple[int, ...] = ()
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class Leader:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    label: str
    ask: str
    required: bool = False
    type: str = "text"            # what the value is: see the head of questions.yaml
    choices: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()    # words that must be near it in free text


@dataclass(frozen=True, slots=True)
class CategoryRules:
    questions: tuple[Question, ...]
    anonymous: bool = False
    fields: tuple[FieldSpec, ...] = ()   # what to read from the text: questions, then common


@dataclass(frozen=True, slots=True)
class RatingConfig:
    """config/rating.yaml: the aspects asked after the overall rating, and the weights of 满意率."""

    aspects: dict[str, str]
    scores: tuple[int, ...]
    comment_max_chars: int
    weights: dict[str, float]


class Texts(dict):
    """``texts.name`` or ``texts("name", **values)``."""

    def __getattr__(self, name: str) -> str:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __call__(self, key: str, /, **values) -> str:
        return self[key].format(**values)


class Catalog:
    """The configuration files of one folder (``Settings.config_dir``), each read once."""

    def __init__(self, config_dir: Path = CONFIG_DIR):
        self.config_dir = Path(config_dir)
        read = self._read
        self.texts = Texts(read("texts.yaml"))
        self.web = read("web.yaml", {})          # the web workspace: words and role rules
        self.web_texts = Texts(self.web.get("texts") or {})
        self.departments = {
            key: Department(key=key, name=row["name"], chat_id=row.get("chat_id"),
                            staff=tuple(row.get("staff") or ()),
                            confidential=bool(row.get("confidential", False)))
            for key, row in read("departments.yaml").items()}
        leaders = read("leaders.yaml", {})
        self.leaders = tuple(Leader(int(row["user_id"]), str(row["name"]))
                             for row in leaders.get("leaders") or ())
        self.count_linked_once = bool(leaders.get("count_linked_once", False))
        calendar = load_calendar(self.config_dir / "holidays.yaml")
        self.deadlines: DeadlineRules = load_rules(self.config_dir / "deadlines.yaml", calendar)
        self.lifecycle: Lifecycle = load_lifecycle(self.config_dir / "lifecycle.yaml",
                                                   self.deadlines)
        self.rating = self._rating(read("rating.yaml"))
        # leaders' reception days: cut-off, reminders, the day's list, what to bring
        self.reception = ReceptionRules.parse(read("reception.yaml", {}))
        self.taxonomy = Taxonomy.load(self.config_dir)
        self.routing = RoutingRules(read_yaml(self.config_dir / "routing.yaml"))
        self._questions = read("questions.yaml")
        reading = read("extract.yaml")
        self.common_fields = tuple(_spec(row) for row in reading.get("common") or ())
        self.vocabulary = Vocabulary.parse(reading)
        self._rules: dict[tuple[str, str, str], CategoryRules] = {}
        self.live = LiveRules.parse(read("live.yaml", {}), calendar)
        self.warnings = tuple(WarningRule.parse(row)
                              for row in read("warnings.yaml", {}).get("rules") or ())

    def _read(self, name: str, missing=None):
        if missing is not None and not (self.config_dir / name).exists():
            return missing
        return read_yaml(self.config_dir / name)

    @staticmethod
    def _rating(raw: dict) -> RatingConfig:
        for key in raw.get("aspects") or {}:
            if key not in Rating.model_fields or key in ("id", "case_id", "overall", "comment"):
                raise ValueError(f"rating.yaml: aspect {key!r} is not a column of Rating")
        return RatingConfig(
            aspects=dict(raw.get("aspects") or {}),
            scores=tuple(int(s) for s in raw.get("scores") or (1, 2, 3, 4, 5)),
            comment_max_chars=int(raw.get("comment_max_chars", 500)),
            weights={k: float(v) for k, v in (raw.get("satisfaction_weights") or {}).items()})

    def hides_identity(self, case) -> bool:
        """Whether staff may not see who filed ``case``: it is anonymous, or its department
        is confidential (``departments.yaml``)."""
        dep = self.departments.get(case.department)
        return case.anonymous or (dep is not None and dep.confidential)

    def department_name(self, key: str) -> str:
        dep = self.departments.get(key)
        return dep.name if dep else key

    def route(self, category: list[str] | tuple[str, ...], text: str) -> str:
        """The department for a complaint: its category and, where a rule names words, its
        text (wages on a construction site go to 住建局). Every path routes through here."""
        level1, level2, level3 = (list(category) + ["", "", ""])[:3]
        return self.routing.route(level1, level2, level3, text).department

    def flag_label(self, flag: str) -> str:
        return self.texts.get(f"flag_label_{flag}", flag)

    def rules_for(self, level1: str, level2: str = "", level3: str = "") -> CategoryRules:
        """Questions and options for a category: the most specific configured path wins,
        and ``anonymous`` is inherited from any level that allows it. (Worked out once per
        category: every step of a complaint asks.)"""
        key = (level1, level2, level3)
        if key not in self._rules:
            self._rules[key] = self._rules_for(level1, level2, level3)
        return self._rules[key]

    def _rules_for(self, level1: str, level2: str, level3: str) -> CategoryRules:
        table = self._questions.get("categories") or {}
        paths = ["/".join(p for p in (level1, level2, level3)[:n] if p) for n in (3, 2, 1)]
        found = [table[p] for p in paths if p and p in table]
        questions_src = next((r["questions"] for r in found if r.get("questions")), None)
        if questions_src is None:
            questions_src = self._questions["default"]["questions"]
        questions = tuple(
            Question(key=q["key"], label=q["label"], ask=q["ask"],
                     required=bool(q.get("required", False)), type=q.get("type", "text"),
                     choices=tuple(q.get("choices") or ()), cues=tuple(q.get("cues") or ()))
            for q in questions_src
        )
        fields = tuple(FieldSpec(q.key, q.type, q.cues) for q in questions
                       if q.type != "choice" and (q.type != "text" or q.cues))
        return CategoryRules(questions=questions,
                             anonymous=any(r.get("anonymous") for r in found),
                             fields=fields + self.common_fields)
