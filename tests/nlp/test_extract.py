"""Reading fields from free text, judged on a set of descriptions we wrote ourselves
(tests/nlp/extraction_set.yaml), each with the fields a careful reader would fill."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from config.catalog import Catalog
from nlp.extract import Extractor

SET = Path(__file__).with_name("extraction_set.yaml")


@pytest.fixture(scope="module")
def reading(classifier):
    catalog = Catalog()
    reader = Extractor(catalog.vocabulary)
    results = []
    for item in yaml.safe_load(SET.read_text(encoding="utf-8")):
        path = (item["category"].split("/") + ["", ""])[:3]
        tokens = classifier.classify(item["text"]).tokens
        found = reader.extract("".join(tokens), tokens, catalog.rules_for(*path).fields,
                               item["date"], shared=("location",))
        expected = {k: str(v) for k, v in (item.get("fields") or {}).items()}
        results.append((item["text"], found, expected))
    return results


def test_the_set_is_varied():
    items = yaml.safe_load(SET.read_text(encoding="utf-8"))
    assert len(items) >= 80
    assert len({item["category"].split("/")[0] for item in items}) >= 12
    assert sum(1 for item in items if not item.get("fields")) >= 10


def test_a_filled_field_is_right(reading):
    filled = [(text, k, v, expected.get(k)) for text, found, expected in reading
              for k, v in found.items()]
    wrong = [(text[:30], k, v, want) for text, k, v, want in filled if v != want]
    precision = 1 - len(wrong) / len(filled)
    assert precision >= 0.97, wrong


def test_most_fields_said_are_filled(reading):
    expected = [(text, k, v, found.get(k)) for text, found, want in reading
                for k, v in want.items()]
    missed = [(text[:30], k, v, got) for text, k, v, got in expected if got != v]
    recall = 1 - len(missed) / len(expected)
    assert recall >= 0.85, missed


WAGES = ("劳动和社会保障", "工资福利", "工资发放")


@pytest.mark.parametrize("text, key, value", [
    ("上周五老板说工资月底给，我叫李明，我的电话13912345678。", "phone", "13912345678"),
    ("老板的电话是13800001111，他一直拖欠工资。", "phone", None),          # somebody else's
    ("包工头拖欠我们工资两万多元。", "amount", None),                       # about, not exact
    ("华建劳务公司拖欠我们九万六千元工资。", "amount", "96000"),
    ("我们十二个人被拖欠工资，从今年7月开始就没发过。", "since", "2026-07"),
    ("两个星期前开始老板就不接电话了，华建劳务公司一直欠薪。", "since", "2026-11-14"),
    ("我們在華建勞務公司幹活，拖欠工資三萬元。", "employer", "华建劳务公司"),
])
def test_what_a_careful_reader_fills(classifier, text, key, value):
    catalog = Catalog()
    tokens = classifier.classify(text).tokens
    found = Extractor(catalog.vocabulary).extract(
        "".join(tokens), tokens, catalog.rules_for(*WAGES).fields, date(2026, 11, 28))
    assert found.get(key) == value, found
