"""The learned model's file format and its run-time features (our own sentences)."""
import gzip
import json
import math
from collections import Counter
from operator import add

import numpy as np
import pytest

from nlp.model import LinearModel, features, title_features
from nlp.pairs import PairTable, pair_codes

CLASSES = ["城乡建设", "劳动和社会保障", "教育文体"]
WORDS = ["工资", "拖欠", "物业", "学校", "#工资", "#物业", "#学校", "#欠工", "@工资", "@#工资"]


def small_model(short: bool = True) -> LinearModel:
    rng = np.random.default_rng(7)
    table = np.column_stack([rng.uniform(1, 5, len(WORDS)),
                             rng.normal(0, 1, (len(WORDS), len(CLASSES)))])
    model = LinearModel(CLASSES, [0.1, -0.2, 0.05], WORDS, table, temperature=2.5,
                        title_weight=3, meta={"note": "测试"}, norm="per_block",
                        title_bias=[0.01, 0.02, -0.03], title_share=0.2)
    if short:
        model.short = LinearModel(CLASSES, [0.0, 0.1, 0.2], WORDS[:4], table[:4, :], 3.0,
                                  title_weight=1, norm="per_block")
        model.short_chars = 80
        model.short_mix = 0.5
    return model


def expected_vector(model: LinearModel, title: list[str], text: list[str]) -> dict[str, float]:
    """The vector as training defines it: features() and title_features(), TF-IDF per block."""
    blocks = {"words": {}, "pairs": {}, "title": {}}
    counts = features(title, text, model.title_weight)
    if title:
        counts.update(title_features(title))
    for f, n in counts.items():
        block = "title" if f[0] == "@" else "pairs" if f[0] == "#" else "words"
        if f in model.words:
            row = model.words.index(f)
            blocks[block][f] = (1 + math.log(n)) * model._idf[row]
    out = {}
    for values in blocks.values():
        norm = math.sqrt(sum(v * v for v in values.values()))
        out.update({f: v / norm for f, v in values.items()})
    return out


@pytest.mark.parametrize("title,text", [
    ([], ["公司", "拖欠", "工资", "，", "拖欠", "工资", "三个月"]),
    (["拖欠", "工资"], ["老板", "欠工资", "，", "物业", "也", "不管"]),
    ([], ["学校"]),
    ([], ["。"]),
])
def test_run_time_vector_is_the_training_features(title, text):
    model = small_model(short=False)
    rows, values, titled, n_words, _ = model.vector_of(title, text)
    got = {model.words[r]: v for r, v in zip(rows.tolist(), values.tolist(), strict=False)}
    want = expected_vector(model, title, text)
    assert got.keys() == want.keys()
    assert all(abs(got[f] - want[f]) < 1e-9 for f in want)
    assert titled == bool(title)
    assert all(model.words[r][0] not in "#@" for r in rows[:n_words].tolist())


def test_pair_codes_count_like_string_pairs():
    text = "拖欠工资，拖欠工资！𠀀𠀁ab"       # characters beyond the BMP too
    pairs = list(map(add, text, text[1:]))
    table = PairTable(sorted(set(pairs)), range(len(set(pairs))))
    values, counts = table.count(pair_codes(text))
    names = sorted(set(pairs))
    assert {names[v]: n for v, n in zip(values.tolist(), counts.tolist(), strict=False)} == Counter(pairs)
    assert len(pair_codes("")) == len(pair_codes("一")) == 0
    assert len(table.count(pair_codes("完全无关"))[0]) == 0


def test_binary_model_round_trips(tmp_path):
    model = small_model()
    path = tmp_path / "model.tar.gz"
    model.save(path)
    loaded = LinearModel.load(path)
    for a, b in ((model, loaded), (model.short, loaded.short)):
        assert b.words == a.words and b.classes == a.classes and b.title_weight == a.title_weight
        assert np.allclose(b._weights, a._weights, rtol=1e-6) and np.allclose(b._idf, a._idf)
        assert b.temperature == a.temperature and b.bias == a.bias
    assert loaded.short_chars == 80 and loaded.short_mix == 0.5 and loaded.meta == {"note": "测试"}
    assert loaded.title_bias == model.title_bias and loaded.title_share == model.title_share
    doc = (["拖欠", "工资"], ["学校", "拖欠", "工资"])
    assert np.allclose(loaded.scores(loaded.vector_of(*doc)), model.scores(model.vector_of(*doc)))
    want = model.keywords(1, 3)
    assert loaded.keywords(1, 3) == [(w, pytest.approx(v, rel=1e-6)) for w, v in want]


def test_short_titled_message_averages_the_two_models(classifier):
    """A short message with a title is scored by the short-input and the full-text model, their
    probabilities mixed (``short_mix`` the full model's share); without a title, by the short
    model alone."""
    model = small_model()

    def probs(m, doc):
        return np.array(m.probabilities(m.scores(m.vector_of(doc.title_tokens, doc.text_tokens))))

    titled = classifier.prepare("学校拖欠工资", "物业")
    assert titled.title_tokens and len(titled.title + titled.text) < model.short_chars
    want = 0.5 * probs(model.short, titled) + 0.5 * probs(model, titled)
    got = classifier.decide(titled, model).model_probabilities
    assert list(got) == CLASSES and np.allclose(list(got.values()), want)
    assert not np.allclose(want, probs(model.short, titled))
    untitled = classifier.prepare("学校拖欠工资")
    got = classifier.decide(untitled, model).model_probabilities
    assert np.allclose(list(got.values()), probs(model.short, untitled))
    model.short_mix = 0.0
    got = classifier.decide(titled, model).model_probabilities
    assert np.allclose(list(got.values()), probs(model.short, titled))


def test_model_without_features_or_short_model_round_trips(tmp_path):
    model = LinearModel(CLASSES, [0.3, 0.2, 0.1], [], np.zeros((0, 4)), 2.0)
    model.save(tmp_path / "empty.tar.gz")
    loaded = LinearModel.load(tmp_path / "empty.tar.gz")
    assert loaded.words == [] and loaded.short is None
    assert loaded.scores(loaded.vector_of([], ["任何", "话"])) == pytest.approx([0.3, 0.2, 0.1])


def test_model_of_the_earlier_json_format_still_loads(tmp_path):
    model = small_model()
    vocab = {w: [float(model._idf[i]), *map(float, model._weights[i])]
             for i, w in enumerate(model.words)}
    short = {"classes": CLASSES, "bias": model.short.bias, "temperature": 3.0, "title_weight": 1,
             "vocab": {w: vocab[w] for w in model.short.words}}
    data = {"format": 2, "classes": CLASSES, "bias": model.bias, "temperature": 2.5,
            "title_weight": 3, "norm": "per_block", "title_bias": model.title_bias,
            "title_share": 0.2, "vocab": vocab, "short_chars": 80, "short": short}
    path = tmp_path / "old.json.gz"
    path.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8")))
    loaded = LinearModel.load(path)
    assert loaded.words == model.words and loaded.short.words == model.short.words
    doc = ([], ["学校", "拖欠", "工资"])
    assert np.allclose(loaded.scores(loaded.vector_of(*doc)), model.scores(model.vector_of(*doc)))


def test_shipped_model_is_the_binary_format():
    from nlp import MODEL_PATH

    model = LinearModel.load(MODEL_PATH)
    assert MODEL_PATH.name.endswith(".tar.gz")
    assert model.short is not None and model.short_chars > 0 and model.short_mix > 0
    assert len(model.keywords(0, 5)) == 5


def test_low_rank_model_folds_into_one_weight_per_feature():
    """The LSA + logistic-regression part is linear in the features: its folded weights score a
    document as the regression does on the document's latent dimensions."""
    from scipy.sparse import random as sparse_random
    from sklearn.decomposition import TruncatedSVD
    from sklearn.linear_model import LogisticRegression

    from nlp.train import _fit_lowrank

    rng = np.random.default_rng(3)
    Xs = [sparse_random(60, n, density=0.2, format="csr", random_state=rng) for n in (30, 20)]
    y = np.array(CLASSES * 20)
    W, b = _fit_lowrank(Xs, y, CLASSES, rank=8, C=10.0, seed=0)
    assert W.shape == (len(CLASSES), 50) and b.shape == (len(CLASSES),)
    from scipy.sparse import hstack
    X = hstack(Xs).tocsr()
    svd = TruncatedSVD(8, n_iter=4, random_state=0).fit(X)
    lr = LogisticRegression(C=10.0, max_iter=5000).fit(svd.transform(X), y)
    want = lr.decision_function(svd.transform(X))[:, [list(lr.classes_).index(c) for c in CLASSES]]
    assert np.allclose(X @ W.T + b, want)


def test_training_adds_the_low_rank_model_and_records_it():
    from nlp.train import fit

    texts = {"城乡建设": ["物业", "小区", "拆迁", "房屋"], "劳动和社会保障": ["工资", "社保", "拖欠", "养老"],
             "教育文体": ["学校", "老师", "学生", "教育"]}
    pairs, labels = [], []
    rng = np.random.default_rng(5)
    for c, words in texts.items():
        for _ in range(12):
            pairs.append((list(rng.choice(words, 2)), list(rng.choice(words, 6))))
            labels.append(c)
    plain = fit(pairs, labels, min_df=1, lowrank=0.0, calibrate=False)
    model = fit(pairs, labels, min_df=1, rank=4, calibrate=False)
    assert model.meta["params"]["lowrank"] > 0 and "LSA" in model.meta["algorithm"]
    assert plain.meta["params"]["lowrank"] == 0
    doc = (["拖欠", "工资"], ["社保", "养老", "工资"])
    scores = model.scores(model.vector_of(*doc))
    assert model.classes[int(np.argmax(scores))] == "劳动和社会保障"
    assert not np.allclose(scores, plain.scores(plain.vector_of(*doc)))


def test_training_weighs_categories_alike_and_shifts_by_prior():
    """macro-F1 counts a small category as much as a large one: ``balance`` weighs each
    one-vs-rest SVM's sides as if equal in size, ``prior`` raises a category's bias by
    prior × −log(its share). Both are recorded in the model's meta."""
    from nlp.train import fit

    words = {"城乡建设": ["物业", "小区", "拆迁", "房屋"], "交通运输": ["公交", "车站", "线路", "司机"]}
    pairs, labels = [], []
    rng = np.random.default_rng(5)
    for c, n in (("城乡建设", 40), ("交通运输", 8)):
        for _ in range(n):
            text = list(rng.choice(words[c], 4)) + list(rng.choice(sum(words.values(), []), 2))
            pairs.append(([], text))
            labels.append(c)
    kw = dict(min_df=1, lowrank=0.0, calibrate=False)
    plain = fit(pairs, labels, balance=0.0, prior=0.0, **kw)
    shifted = fit(pairs, labels, balance=0.0, prior=0.1, **kw)
    freq = np.array([labels.count(c) / len(labels) for c in plain.classes])
    assert np.allclose(np.array(shifted.bias) - plain.bias, -0.1 * np.log(freq))
    assert np.allclose(shifted._weights, plain._weights)
    balanced = fit(pairs, labels, balance=1.0, prior=0.0, **kw)
    assert balanced.meta["params"]["balance"] == 1.0 and shifted.meta["params"]["prior"] == 0.1
    k = plain.classes.index("交通运输")
    doc = ([], ["物业", "公交"])                                   # one word of each
    margin = [m.scores(m.vector_of(*doc))[k] - m.scores(m.vector_of(*doc))[1 - k]
              for m in (plain, balanced)]
    assert margin[1] > margin[0]                                   # the small class gains
