"""Reading fields from free text, judged on a set of descriptions we wrote ourselves
(tests/nlp/extraction_set.yaml), each with the fields a careful reader would fill."""
from __future__ import annotations

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
