from pathlib import Path

import pytest
import yaml

from config.catalog import Catalog
from nlp.rules import RoutingRules, read_yaml
from nlp.taxonomy import Taxonomy

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def routing():
    return RoutingRules(read_yaml(CONFIG / "routing.yaml"))


def test_every_department_exists_and_every_level1_is_routed(routing):
    departments = yaml.safe_load((CONFIG / "departments.yaml").read_text(encoding="utf-8"))
    for rule in routing.rules:
        assert rule["department"] in departments
        assert all(a in departments for a in rule.get("also", []))
    for level1 in Taxonomy.load(CONFIG).level1():
        assert routing.route(level1).department != routing.default or level1 == "党务政务"


def test_most_specific_rule_wins(routing):
    assert routing.route("城乡建设").department == "housing"
    r = routing.route("城乡建设", "住房保障与房地产", "房产证登记、办理")
    assert (r.department, r.also) == ("natural_resources", ("housing",))
    assert routing.route("劳动和社会保障", "工资福利", "工资发放", "公司欠我工资").department == "hrss"


def test_construction_wages_go_to_housing_with_labour_inspection(routing):
    r = routing.route("劳动和社会保障", "工资福利", "工资发放", "在工地干了半年，包工头不给工资")
    assert (r.department, r.also) == ("housing", ("hrss",))
    r = routing.route("城乡建设", "建筑市场", "拖欠工程款")
    assert (r.department, r.also) == ("housing", ("hrss",))


def test_unknown_category_goes_to_default(routing):
    assert routing.route("不存在的类别").department == "government_office"


def test_classification_carries_department_key(classifier):
    result = classifier.classify("交房五年了，开发商一直办不了房产证")
    assert result.department == "natural_resources"
    assert result.also_departments == ["housing"]


def test_catalog_routes_a_category_with_its_text():
    catalog = Catalog()
    assert catalog.route(["城乡建设", "住房保障与房地产", "房产证登记、办理"], "") == "natural_resources"
    assert catalog.route(["纪检监察"], "") == "discipline"
    assert catalog.route(["劳动和社会保障", "工资福利", "工资发放"], "工地包工头欠工资") == "housing"
