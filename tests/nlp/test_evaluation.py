"""Cross-validation on the real labelled data, when it is present (it is never shipped)."""
import pytest

from .conftest import DEV_DATA


@pytest.mark.slow
def test_cross_validated_macro_f1_on_dev_data(classifier):
    if not DEV_DATA.exists():
        pytest.skip(f"没有找到标注数据 {DEV_DATA}，跳过交叉验证")
    from nlp.evaluate import cross_validate, metrics, read_rows

    rows = read_rows(DEV_DATA)
    docs = [classifier.prepare(r.text, r.title) for r in rows]
    gold = [r.label for r in rows]
    # Faster than `nlp eval --cv 5`: no confidence calibration (it changes no decision) and no
    # short-message views added to training; the whole classifier (model + rules) decides.
    decisions, _ = cross_validate(classifier, docs, gold, k=5, calibrate=False)
    m = metrics(gold, decisions)
    print(f"5-fold macro-F1 {m['macro_f1']:.4f} accuracy {m['accuracy']:.4f} "
          f"top-3 {m['top3_accuracy']:.4f}")
    assert m["macro_f1"] >= 0.90
    assert m["top3_accuracy"] >= 0.97
