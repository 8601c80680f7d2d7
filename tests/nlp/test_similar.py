"""The "same matter" detector (nlp/similar.py) on complaints written for these tests (no real
persons, nothing from ../shared/data), and its figures on the hand-labelled pairs when the data
set is there."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from cases.matters import same_subject
from config.settings import CONFIG_DIR
from nlp.normalize import Normalizer
from nlp.rules import read_yaml
from nlp.similar import (
    PAIR_FEATURES,
    SameMatterIndex,
    Signature,
    SimilarConfig,
    gram_hashes,
    load_index,
)

from .conftest import DEV_DATA, ROOT

WAGES = ("我们是幸福里项目工地的农民工，一共二十三人，从去年三月干到十二月，承包方华建劳务有限公司一直拖欠我们的工资，"
         "共计四十六万元。老板王某某多次承诺年底结清，但到现在一分钱也没给，电话也不接。我们已经向劳动监察大队反映过，"
         "请政府帮助我们讨回血汗钱。")
WAGES_REPOST = ("我们是幸福里项目工地的农民工，共二十三人，从去年三月一直干到十二月，"
                "承包方华建劳务有限公司拖欠我们的工资，共计四十六万元。老板王某某多次承诺年底结清，可到现在一分钱没给，电话也不接了。我们已经向劳动监察大队反映过，"
                "恳请政府帮我们讨回血汗钱！")
WAGES_TRADITIONAL = ("我們是幸福里項目工地的農民工，一共二十三人，從去年三月幹到十二月，"
                     "承包方華建勞務有限公司一直拖欠我們的工資，共計四十六萬元。老闆王某某多次承諾年底結清，但到現在一分錢也沒給，電話也不接。")
WAGES_FOLLOW_UP = "我上个月反映的华建劳务有限公司拖欠幸福里项目农民工工资的问题，至今没有处理，请问进展如何？"
SAME_COMPANY_OTHER_PROBLEM = ("华建劳务有限公司在城南租的职工宿舍楼道里堆满杂物，电线私拉乱接，晚上还有人用电炉做饭，"
                              "消防通道被堵死，存在很大的火灾隐患，请消防部门尽快检查整改。")
OTHER_COMPANY_SAME_PROBLEM = ("我们是滨江花园项目工地的木工班组，一共十五人，从今年二月干到八月，"
                              "承包方宏达建筑劳务公司拖欠我们的工资，共计二十八万元。包工头李某某一直推说甲方没有拨款，现在人也找不到了。请劳动部门帮我们讨回工资。")
CERTIFICATE = ("锦绣花园小区的业主2016年就交房了，开发商恒泰置业一直拖着不给办不动产权证，说是土地出让金没有交清。"
               "我们三百多户业主的孩子上学、贷款都受影响，请自然资源局督促开发商尽快办证。")
OTHER_ESTATE_CERTIFICATE = ("金湾丽都小区2018年交房，开发商鑫源地产到现在都没有给业主办理不动产权证，"
                            "问了几次都说在走流程。小区两百多户业主，孩子上学落户都成了问题，恳请政府部门督促办证。")


@pytest.fixture(scope="module")
def normalize():
    return Normalizer(read_yaml(CONFIG_DIR / "keywords.yaml").get("boilerplate"))


@pytest.fixture()
def index(normalize):
    index = load_index(CONFIG_DIR, normalize)
    index.add("HY001", WAGES)
    index.add("HY002", CERTIFICATE)
    return index


def keys(matches):
    return [m.key for m in matches]


def test_a_repost_with_small_edits_is_found(index):
    matches = index.find(WAGES_REPOST)
    assert keys(matches) == ["HY001"]
    assert matches[0].reason in ("near_duplicate", "contained", "same_subject")


def test_traditional_characters_are_read_as_simplified(index):
    assert keys(index.find(WAGES_TRADITIONAL)) == ["HY001"]


def test_a_follow_up_about_the_same_thing_is_found(index):
    matches = index.find(WAGES_FOLLOW_UP)
    assert keys(matches) == ["HY001"]
    assert "华建劳务" in matches[0].shared   # the company's name, its ending dropped


def test_same_company_with_another_problem_is_not_found(index):
    assert index.find(SAME_COMPANY_OTHER_PROBLEM) == []


def test_same_problem_at_another_company_is_not_found(index):
    assert index.find(OTHER_COMPANY_SAME_PROBLEM) == []


def test_same_problem_at_another_estate_is_not_found(index):
    assert index.find(OTHER_ESTATE_CERTIFICATE) == []


def test_subjects_given_by_the_caller_count(index):
    index.add("HY003", OTHER_COMPANY_SAME_PROBLEM, subjects={"employer": "宏达建筑劳务有限公司"})
    # the same employer written otherwise, with a short text naming it no other way
    short = "包工头李某某拖欠滨江花园工地木工工资的事，到现在还没有人管。"
    assert "HY003" in keys(index.find(short, subjects={"employer": "宏达建筑劳务公司"}))
    # a different employer given for the same field speaks against one matter
    assert "HY003" not in keys(index.find(short, subjects={"employer": "华建劳务"}))


def test_removal_works(index):
    index.remove("HY001")
    assert index.find(WAGES_REPOST) == []
    assert "HY001" not in index and len(index) == 1
    index.remove("HY001")   # unknown keys are ignored
    index.add("HY004", WAGES)
    assert keys(index.find(WAGES_REPOST)) == ["HY004"]


def test_signatures_round_trip(index, normalize):
    data = index.signature(WAGES, subjects={"employer": "华建劳务有限公司"})
    signature = Signature.from_bytes(data)
    assert signature.to_bytes() == data
    assert signature.hashvalues.dtype == np.uint32 and len(signature.hashvalues) == 128
    assert ("subject:employer", "华建劳务") in signature.names
    # an index rebuilt from stored signatures answers as the one built from texts
    rebuilt = load_index(CONFIG_DIR, normalize)
    rebuilt.add_many([("HY001", data), ("HY002", index.signature(CERTIFICATE))])
    for text in (WAGES_REPOST, WAGES_FOLLOW_UP, OTHER_COMPANY_SAME_PROBLEM):
        assert keys(rebuilt.find(text)) == keys(index.find(text))
    with pytest.raises(ValueError):
        Signature.from_bytes(b"XXX" + data[3:])


def test_signatures_are_the_same_in_every_process():
    # fixed hashes, not Python's salted hash(): a stored signature stays valid after a restart
    assert gram_hashes("abcd").tolist() == sorted(gram_hashes("abcd").tolist())
    assert len(gram_hashes("拖欠工资拖欠工资")) == 4
    assert gram_hashes("ab").size == 1 and gram_hashes("").size == 0


def test_many_cases_are_checked_through_the_bands(normalize):
    index = load_index(CONFIG_DIR, normalize)
    index.add_many((f"HY{i:04d}", index.make(f"第{i}号测试投诉：{i * 7919 % 10007}号楼下水道堵塞，"
                                              f"第{i}栋的住户反映{i % 97}次"))
                   for i in range(3000))
    index.add("HY9999", WAGES)
    matches = index.find(WAGES_REPOST)
    assert keys(matches) == ["HY9999"]


def test_thresholds_can_be_overridden_from_config():
    config = SimilarConfig.from_mapping({"thresholds": {"near_jaccard": 0.7}})
    assert config.near_jaccard == 0.7 and config.lsh_threshold == SimilarConfig().lsh_threshold
    with pytest.raises(ValueError):
        SimilarConfig.from_mapping({"thresholds": {"no_such_threshold": 1}})


def test_the_pair_model_is_read_from_config():
    config = SimilarConfig.from_mapping(
        {"pair_model": {"threshold": 0.8, "bias": -1, "weights": {"jaccard": 2}}})
    assert (config.same_probability, config.pair_bias) == (0.8, -1.0)
    assert dict(config.pair_weights) == {"jaccard": 2.0}
    with pytest.raises(ValueError):
        SimilarConfig.from_mapping({"pair_model": {"weights": {"no_such_feature": 1}}})
    shipped = SimilarConfig.load(CONFIG_DIR / "similar.yaml")
    assert set(shipped.pair_weights) == set(PAIR_FEATURES)
    assert 0 < shipped.same_probability < 1


def test_a_signature_made_the_old_way_does_not_parse(index):
    data = index.signature(WAGES)
    assert Signature.from_bytes(data).head.size > 10   # the first sentence's 2-grams
    with pytest.raises(ValueError):
        Signature.from_bytes(b"SM1" + data[3:])   # the bot signs such a case's text again
    with pytest.raises(ValueError):
        Signature.from_bytes(data[:5])


def test_first_sentences_naming_two_places_speak_against_one_matter(index):
    index.add("HY010", "月白公路被运煤的重型货车压得坑坑洼洼，下雨天泥泞不堪。"
                       "这条路是我们进城的必经之路，请交通部门尽快修复。")
    other_road = index.make("双石公路被运煤的重型货车压得坑坑洼洼，学生上学很不安全。请交通部门尽快修复。")
    assert "HY010" not in keys(index.find_signature(other_road))
    features = dict(zip(PAIR_FEATURES, index.pair_features(
        other_road, index.make("月白公路被运煤的重型货车压得坑坑洼洼。")), strict=True))
    assert features["head_conflict"] == 1 and features["shared_name"] == 0
    # one bridge however it is written: two characters of its name in common
    bridge = dict(zip(PAIR_FEATURES, index.pair_features(
        index.make("五一大桥不能拆除。"), index.make("拆五一桥建商铺违法。")), strict=True))
    assert bridge["head_conflict"] == 0
    # a follow-up naming the same road is found, with little text in common
    matches = index.find("我们反映过的月白公路到现在还是坑坑洼洼，请尽快修复。")
    assert keys(matches) == ["HY010"] and "月白公路" in matches[0].shared


def test_an_index_without_words_still_finds_reposts():
    index = SameMatterIndex(SimilarConfig())
    index.add("HY001", WAGES)
    assert keys(index.find(WAGES_REPOST)) == ["HY001"]


# ------------------------------------------------------------------ the labelled pairs

def _evaluation_module():
    spec = importlib.util.spec_from_file_location("same_matter_eval",
                                                  ROOT / "bench" / "same_matter_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluation():
    if not DEV_DATA.exists():
        pytest.skip("../shared/data is not here")
    module = _evaluation_module()
    config = SimilarConfig.load(CONFIG_DIR / "similar.yaml")
    return module, module.Evaluation(DEV_DATA, config), config


@pytest.mark.slow
def test_labelled_pairs_measured_figures_hold(evaluation):
    """What the shipped pair model reaches from the text alone (bench/same_matter_eval.py, no
    --subjects; ≈ 20 s): precision 0.958, recall 0.719 over all pairs. A floor against
    regressions (these pairs trained it: the held-out figures are the next test's)."""
    module, ev, config = evaluation
    total = ev.counts(config)
    assert total.precision >= 0.95
    assert total.recall >= 0.71
    assert ev.counts(config, kind="repost: near-identical text, small edits").recall >= 0.98


@pytest.mark.slow
def test_the_pair_model_holds_on_pairs_it_was_not_trained_on(evaluation):
    """Trained on one half of the pairs, its threshold chosen there, judged on the other: today
    precision 0.954 and 0.953, recall 0.691 and 0.732 (half B, half A)."""
    module, ev, config = evaluation
    for trained, held_out in (("A", "B"), ("B", "A")):
        c = ev.counts(ev.fit(config, trained), held_out)
        assert c.precision >= 0.94, (trained, c.line())
        assert c.recall >= 0.67, (trained, c.line())


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 12's recall target (0.8) is not reached: precision "
                   "0.958, recall 0.719 (held out: 0.954 / 0.953, 0.691 / 0.732); other "
                   "citizens' complaints about one subject (recall 0.39) share too few words to "
                   "be told from the same problem at another place")
def test_labelled_pairs_reach_the_issue_targets(evaluation):
    module, ev, config = evaluation
    total = ev.counts(config)   # the xfail is strict: reaching the targets makes this test fail
    assert total.precision >= module.TARGET_PRECISION
    assert total.recall >= module.TARGET_RECALL


# ---------------------------------------------------------------- subjects as counted

def same(a, b) -> bool:
    return same_subject(a.core, a.trade, b.core, b.trade)


@pytest.fixture(scope="module")
def subject_key(normalize):
    return load_index(CONFIG_DIR, normalize).make.subject_key


@pytest.mark.parametrize("a, b", [
    ("华建劳务", "华建劳务公司"), ("华建劳务", "华建劳务有限公司"), ("华建劳务公司", "华建"),
    ("華建勞務有限公司", "华建劳务"), ("华建劳务公司（包工头王某）", "华建劳务"),
    ("A市B区锦绣花园", "锦绣花园"), ("鑫源物业管理有限公司", "鑫源物业"),
    ("恒泰广场项目", "恒泰广场"),
])
def test_one_subject_however_it_is_written(subject_key, a, b):
    assert same(subject_key(a), subject_key(b)), (subject_key(a), subject_key(b))


@pytest.mark.parametrize("a, b", [
    ("华建劳务", "华建建筑"), ("鑫源物业", "鑫源超市"), ("华建劳务", "中建劳务"),
    ("锦绣花园二期", "锦绣花园三期"), ("城市花园", "花园"), ("杨梓塘小学", "杨梓塘中学"),
])
def test_different_subjects_that_share_a_word_are_not_one(subject_key, a, b):
    assert not same(subject_key(a), subject_key(b)), (subject_key(a), subject_key(b))
