from nlp.normalize import Normalizer, to_simplified


def test_traditional_to_simplified_with_opencc():
    assert to_simplified("老闆欠我們三個月工資不給") == "老板欠我们三个月工资不给"
    assert to_simplified("交房五年了還辦不了房產證") == "交房五年了还办不了房产证"


def test_full_width_letters_and_digits_become_half_width():
    assert to_simplified("ＡＢＣ小區１２３號樓") == "ABC小区123号楼"


def test_salutations_and_thanks_are_removed(classifier):
    text = classifier.normalize("尊敬的領導您好：我們小區停水三天了。謝謝！此致敬礼")
    for phrase in ("尊敬", "领导", "您好", "谢谢", "此致"):
        assert phrase not in text
    assert "停水三天" in text


def test_boilerplate_is_never_evidence(classifier):
    result = classifier.classify("尊敬的领导您好，您好，谢谢领导，非常感谢！公司拖欠我们工资半年了。谢谢！")
    assert not {"您好", "谢谢", "感谢", "领导", "尊敬"} & set(result.evidence)
    assert result.evidence


def test_empty_normaliser_keeps_text():
    assert Normalizer()("  你好  世界 ") == "你好 世界"
