"""Training: NB-weighted linear SVM (NBSVM, Wang & Manning 2012) over jieba words.

For each first-level category, a word's TF-IDF value is scaled by its naive-Bayes log-count
ratio (how much more often it appears in that category than in the others) and a linear SVM is
fitted one-vs-rest. The product of the two is one plain weight per (word, category), which is
what the shipped model stores. scikit-learn is only needed here, not at run time."""
from __future__ import annotations

import math

import numpy as np

from .model import LinearModel, features

DEFAULT_TEMPERATURE = 4.25  # used when not calibrated: the value calibrated on complaints_dev


def _docs(pairs, title_weight):
    return [features(tt, tx, title_weight) for tt, tx in pairs]


def fit(pairs: list[tuple[list[str], list[str]]], labels: list[str], *, C: float = 0.5,
        alpha: float = 1.0, min_df: int = 5, title_weight: int = 3, prune: float = 0.1,
        calibrate: bool = True, seed: int = 0) -> LinearModel:
    """pairs: (title tokens, text tokens) per document; labels: first-level category names."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    counts = _docs(pairs, title_weight)
    vec = TfidfVectorizer(analyzer=lambda c: list(c.elements()), sublinear_tf=True,
                          min_df=min_df, norm="l2")
    X = vec.fit_transform(counts).tocsr()
    y = np.asarray(labels)
    classes = sorted(set(labels))
    B = (X > 0).astype(np.float64)
    W = np.zeros((len(classes), X.shape[1]))
    bias = []
    for k, c in enumerate(classes):
        pos = y == c
        p = alpha + np.asarray(B[pos].sum(0)).ravel()
        q = alpha + np.asarray(B[~pos].sum(0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum()))
        svm = LinearSVC(C=C, random_state=seed).fit(X.multiply(r).tocsr(), pos)
        W[k] = svm.coef_.ravel() * r
        bias.append(float(svm.intercept_[0]))
    idf = vec.idf_
    # features whose weights are all tiny change no decision: left out of the file
    keep = np.abs(W).max(0) >= prune
    vocab = {w: [float(idf[j]), *map(float, W[:, j])] for w, j in vec.vocabulary_.items()
             if keep[j]}
    meta = {"documents": len(labels), "per_class": {c: int((y == c).sum()) for c in classes},
            "algorithm": "NBSVM one-vs-rest over jieba words, sublinear TF-IDF",
            "params": {"C": C, "alpha": alpha, "min_df": min_df, "title_weight": title_weight,
                       "prune": prune}}
    model = LinearModel(classes, bias, vocab, DEFAULT_TEMPERATURE, title_weight, meta)
    if calibrate and len(labels) >= 50:
        model.temperature = _calibrate(pairs, labels, C=C, alpha=alpha, min_df=min_df,
                                       title_weight=title_weight, seed=seed)
        model.meta["temperature_from"] = "3-fold out-of-fold scores"
    return model


def _calibrate(pairs, labels, seed=0, **params) -> float:
    """The softmax temperature that minimises the log-loss of out-of-fold scores."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    scores, gold = [], []
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        m = fit([pairs[i] for i in tr], [labels[i] for i in tr], calibrate=False, **params)
        for i in te:
            scores.append(m.scores(m.vector(features(*pairs[i], m.title_weight))))
            gold.append(m.classes.index(labels[i]))
    S, g = np.asarray(scores), np.asarray(gold)
    best_t, best_loss = DEFAULT_TEMPERATURE, math.inf
    for t in np.arange(0.5, 10.01, 0.25):
        z = S * t
        z = z - z.max(1, keepdims=True)
        loss = -(z[np.arange(len(g)), g] - np.log(np.exp(z).sum(1))).mean()
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t
