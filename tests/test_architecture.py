"""The house rules a reader relies on, checked on every run: no imports inside functions,
nothing imports main.py, and no Chinese words in code outside a short allow-list (every word a
user reads lives in config/). The layering itself is import-linter's (``make test`` runs
``lint-imports``; contracts in pyproject.toml)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["bot", "cases", "config", "storage", "nlp"]
CJK = re.compile(r"[\u3400-\u9fff]")

# Imports inside functions allowed: the training libraries, loaded only when a model is trained
# or evaluated, never by the bot.
LAZY_ALLOWED = ("sklearn", "scipy")

# Chinese in code allowed: patterns that parse what citizens type (validate.py, the regular
# expressions of extract.py and of similar.py's subject names; their word lists are in
# config/extract.yaml and config/similar.yaml), and the classifier's
# operator tools (explain, CLI, evaluation reports, model errors), which are not words the bot
# says.
WORDS_ALLOWED = {"bot/conversations/validate.py", "nlp/extract.py", "nlp/similar.py",
                 "nlp/classifier.py",
                 "nlp/cli.py", "nlp/evaluate.py", "nlp/model.py"}


def product_files() -> list[Path]:
    files = [ROOT / "main.py"]
    for package in PRODUCT:
        files += sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else ["." + (node.module or "")]
    return []


def test_no_imports_inside_functions():
    found = []
    for path in product_files():
        for fn in ast.walk(tree(path)):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    for name in imported_names(node):
                        if not name.startswith(LAZY_ALLOWED):
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert found == []


def test_nothing_imports_main():
    files = product_files()[1:] + sorted((ROOT / "tests").rglob("*.py")) + sorted(
        (ROOT / "bench").rglob("*.py"))
    found = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in files
             for node in ast.walk(tree(path))
             if any(n == "main" or n.startswith("main.") for n in imported_names(node))]
    assert found == []


def docstrings(module: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(module):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def chinese_literals(path: Path) -> list[tuple[int, str]]:
    """String literals with Chinese in them, docstrings left out: (line, text)."""
    module = tree(path)
    skip = docstrings(module)
    return [(node.lineno, node.value) for node in ast.walk(module)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip and CJK.search(node.value)]


def test_every_word_users_read_is_in_config():
    found = [f"{path.relative_to(ROOT)}:{line} {text[:30]!r}" for path in product_files()
             if str(path.relative_to(ROOT)) not in WORDS_ALLOWED
             for line, text in chinese_literals(path)]
    assert found == []


@pytest.mark.parametrize("source, expected", [
    ('x = "请稍后再试"\n', 1),
    ('"""模块说明。"""\nlog.info("case %s", 1)\n', 0),
])
def test_the_word_check_sees_a_chinese_literal(tmp_path, source, expected):
    path = tmp_path / "sample.py"
    path.write_text(source, encoding="utf-8")
    assert len(chinese_literals(path)) == expected
