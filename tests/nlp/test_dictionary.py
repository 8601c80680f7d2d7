import pytest

TERMS = ["不动产权证", "农民工工资", "拖欠工程款", "物业费", "公积金", "回迁房"]


@pytest.mark.parametrize("term", TERMS)
def test_domain_terms_stay_whole(classifier, term):
    sentence = f"我们反映{term}的问题，{term}一直没有解决"
    assert term in classifier.segmenter.cut(sentence)


def test_domain_dictionary_is_private_to_the_classifier(classifier):
    import jieba

    assert classifier.segmenter.tokenizer is not jieba.dt
