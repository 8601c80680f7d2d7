"""Fine categories on sentences written the way citizens write (our own sentences)."""
import pytest

WAGES = ("劳动和社会保障", "工资福利", "工资发放")
CERTIFICATE = ("城乡建设", "住房保障与房地产", "房产证登记、办理")

WAGE_TEXTS = [
    "老闆欠我們三個月工資不給",
    "公司已经半年没发工资了，老板一直说下个月发",
    "我在厂里做了一年，辞职后老板克扣工资不给结清",
    "餐馆老板拖欠我们服务员两个月的工资，打电话也不接",
    "去年幹了八個月活，到現在工錢一分沒拿到",
    "快递公司欠薪三个月，请劳动监察帮我们讨薪",
]
CERTIFICATE_TEXTS = [
    "交房五年了還辦不了房產證",
    "买的商品房交房三年，开发商一直不给办房产证",
    "小区业主的不动产权证迟迟办不下来，开发商说土地证有问题",
    "請問我們小區的不動產證什麼時候能辦好",
    "开发商拖着不办证，我们买房六年了还没拿到房产证",
]


@pytest.mark.parametrize("text", WAGE_TEXTS)
def test_unpaid_wages_recognised_at_third_level(classifier, text):
    result = classifier.classify(text)
    assert (result.category.level1, result.category.level2, result.category.level3) == WAGES
    assert result.department == "hrss"
    assert result.confidence[2] > 0


@pytest.mark.parametrize("text", CERTIFICATE_TEXTS)
def test_property_certificate_recognised_at_third_level(classifier, text):
    result = classifier.classify(text)
    assert (result.category.level1, result.category.level2,
            result.category.level3) == CERTIFICATE
    assert result.department == "natural_resources"


def test_construction_site_wages(classifier):
    result = classifier.classify(
        "我们三十多名农民工在工地干了一年，包工头拖欠农民工工资二十多万，项目部不管")
    assert result.category.level1 in ("劳动和社会保障", "城乡建设")
    assert result.department == "housing" and "hrss" in result.also_departments
    assert "collective" in result.flags


@pytest.mark.parametrize("text,level1", [
    ("村支书贪污扶贫款，还打击报复举报的村民", "纪检监察"),
    ("我家低保被取消了，生活很困难，想申请低保", "民政"),
    ("邻居占了我家宅基地，村里调解不了", "农村农业"),
    ("孩子上户口要跑好多趟，派出所说材料不全", "政法"),
    ("小区手机信号太差，中国移动一直不来修基站", "科技与信息产业"),
    ("征地补偿款到现在还没发给我们", "国土资源"),
    ("被人拉去非法集资，现在老板跑路了", "经济管理"),
])
def test_categories_outside_the_labelled_data(classifier, text, level1):
    result = classifier.classify(text)
    assert level1 in [c for c, _ in result.top3]


def test_result_shape(classifier):
    result = classifier.classify("小区物业公司不作为，物业费照收，楼道垃圾没人清理，业委会也成立不了",
                                 title="投诉物业公司")
    assert len(result.top3) == 3
    assert result.top3[0][0] == result.category.level1
    scores = [s for _, s in result.top3]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in result.confidence)
    assert result.category.level3 == "物业服务"
    assert "物业" in "".join(result.evidence)


def test_gibberish_is_unsure(classifier):
    result = classifier.classify("啊啊啊")
    assert result.unsure
    assert len(result.top3) == 3


async def test_loading_does_not_block_the_event_loop():
    import asyncio

    from nlp import load_classifier

    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    clf = await asyncio.to_thread(load_classifier)
    task.cancel()
    assert ticks >= 5  # the loop kept running while jieba and the model loaded
    assert clf.classify("停水了").category.level1


# The dev data's seven categories: the model knows these, keywords alone decide the others.
LEARNED = ["交通运输", "劳动和社会保障", "卫生计生", "商贸旅游", "城乡建设", "教育文体", "环境保护"]


def one_word_model():
    """A model that knows one word, 小区, with a clear order of three candidates."""
    from nlp.model import LinearModel

    weights = {"城乡建设": 2.0, "商贸旅游": 1.0, "环境保护": 0.6}
    row = [1.0, *[weights.get(c, 0.0) for c in LEARNED]]
    return LinearModel(LEARNED, [0.0] * len(LEARNED), ["小区"], [row], temperature=1.0)


def test_one_generic_keyword_does_not_displace_the_models_candidates(classifier):
    model = one_word_model()
    d = classifier.decide(classifier.prepare("小区门口新开了一家银行"), model)
    assert [kw.path[0] for kw in d.keyword_hits] == ["经济管理"]     # 银行: one generic word
    assert [c for c, _ in d.result.top3] == ["城乡建设", "商贸旅游", "环境保护"]


def test_clear_words_bring_a_category_the_model_lacks_into_the_top3(classifier):
    model = one_word_model()
    d = classifier.decide(classifier.prepare("小区里有人搞非法集资，好多老人的钱都要不回来"), model)
    assert "经济管理" in [c for c, _ in d.result.top3]
    assert d.result.category.level1 != "经济管理" or d.result.category.level2 == "金融财税"
