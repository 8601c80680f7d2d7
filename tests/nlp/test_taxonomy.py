from config.settings import CONFIG_DIR
from nlp.rules import KeywordRules, read_yaml
from nlp.taxonomy import Taxonomy


def test_tree_has_fifteen_first_level_categories():
    tree = Taxonomy.load(CONFIG_DIR)
    level1 = tree.level1()
    assert len(level1) == 15
    assert "纪检监察" in level1 and "劳动和社会保障" in level1
    assert "工资福利" in tree.level2("劳动和社会保障")
    assert "工资发放" in tree.level3("劳动和社会保障", "工资福利")
    assert "房产证登记、办理" in tree.level3("城乡建设", "住房保障与房地产")
    assert tree.level2("没有这个类别") == []


def test_every_keyword_points_into_the_tree():
    tree = Taxonomy.load(CONFIG_DIR)
    rules = KeywordRules(read_yaml(CONFIG_DIR / "keywords.yaml"))
    assert len(rules.keywords) > 500
    bad = [k.text for k in rules.keywords if not tree.contains(*k.path)]
    assert bad == []
    covered = {k.path[0] for k in rules.keywords}
    assert covered == set(tree.level1())
