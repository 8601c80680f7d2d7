"""The data files under config/ loaded into plain objects: departments, questions, texts."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from config.settings import CONFIG_DIR


def load_yaml(name: str, config_dir: Path = CONFIG_DIR):
    with open(config_dir / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass(frozen=True, slots=True)
class Department:
    key: str
    name: str
    chat_id: int | None = None
    staff: tuple[int, ...] = ()
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    label: str
    ask: str
    required: bool = False
    type: str = "text"            # text | money | count | year | choice
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CategoryRules:
    questions: tuple[Question, ...]
    anonymous: bool = False


class Texts(dict):
    """``texts.name`` or ``texts("name", **values)``."""

    def __getattr__(self, name: str) -> str:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __call__(self, key: str, /, **values) -> str:
        return self[key].format(**values)


@dataclass
class Catalog:
    config_dir: Path = CONFIG_DIR
    _questions: dict = field(init=False, repr=False)
    _rules: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._questions = load_yaml("questions.yaml", self.config_dir)

    @cached_property
    def texts(self) -> Texts:
        return Texts(load_yaml("texts.yaml", self.config_dir))

    @cached_property
    def departments(self) -> dict[str, Department]:
        raw = load_yaml("departments.yaml", self.config_dir)
        return {
            key: Department(key=key, name=row["name"], chat_id=row.get("chat_id"),
                            staff=tuple(row.get("staff") or ()),
                            confidential=bool(row.get("confidential", False)))
            for key, row in raw.items()
        }

    def department_name(self, key: str) -> str:
        dep = self.departments.get(key)
        return dep.name if dep else key

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
                     choices=tuple(q.get("choices") or ()))
            for q in questions_src
        )
        return CategoryRules(questions=questions,
                             anonymous=any(r.get("anonymous") for r in found))
