import re

import pytest

from config.catalog import Catalog
from nlp.api import Flag

CASES = [
    ("我们三十多名工人被拖欠工资半年", Flag.COLLECTIVE),
    ("全体业主强烈反对物业涨价", Flag.COLLECTIVE),
    ("小区120户业主联名反映电梯问题", Flag.COLLECTIVE),
    ("再不解决我就去北京上访", Flag.ESCALATION),
    ("被逼得没办法只能跳楼了", Flag.ESCALATION),
    ("工人们说要去堵路讨说法", Flag.ESCALATION),
    ("他说要自殺", Flag.ESCALATION),
    ("这个案子法院已经判决了但对方不执行", Flag.LITIGATION),
    ("我已经申请了劳动仲裁", Flag.LITIGATION),
    ("对处罚决定申请了行政复议", Flag.LITIGATION),
    ("举报村支书贪污扶贫款", Flag.OFFICIAL),
    ("局长滥用职权打击报复举报人", Flag.OFFICIAL),
    ("我们小区已经停水两天了", Flag.UTILITY),
    ("整栋楼突然停電", Flag.UTILITY),
    ("家里断气了没法做饭", Flag.UTILITY),
]


@pytest.mark.parametrize("text,flag", CASES)
def test_flag_is_raised(classifier, text, flag):
    assert flag in classifier.classify(text).flags


@pytest.mark.parametrize("text", [
    "小区门口的路灯坏了很久",
    "孩子上学的学校乱收补课费",
    "我一个人在工地干活，老板欠我两个月工资",
    "小区电梯没有电梯卡不能用",
])
def test_ordinary_complaints_raise_no_flag(classifier, text):
    assert classifier.classify(text).flags == []


def test_flag_labels_are_chinese():
    catalog = Catalog()
    for name in (Flag.COLLECTIVE, Flag.ESCALATION, Flag.LITIGATION, Flag.OFFICIAL, Flag.UTILITY):
        assert re.search(r"[\u4e00-\u9fff]", catalog.flag_label(name))
