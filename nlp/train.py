"""Training: NB-weighted linear SVMs (NBSVM, Wang & Manning 2012) over jieba words.

For each first-level category, a feature's TF-IDF value is scaled by its naive-Bayes log-count
ratio (how much more often it appears in that category than in the others) and a linear SVM is
fitted one-vs-rest. Three such models, each on its own block of features, are averaged:
jieba words, character pairs (both from title and text, the title counted ``title_weight``
times) and the title's own words and pairs (marked ``@``). A low-rank model is added to them:
a multinomial logistic regression on the first ``rank`` latent dimensions (truncated SVD, as in
LSA) of the words and pairs side by side. It lets features that occur together share weight —
a rare word gets some of the weight of the words it comes with — which the per-feature SVMs
cannot; being linear in the features it folds back into their weights (``lowrank`` × its
weights). The product of ratio, SVM weight and the block's share, plus the low-rank part, is
one plain weight per (feature, category): what the shipped model stores. A second model of
the same kind, trained on the texts plus their titles alone and their first 60 characters,
scores short input. scikit-learn is only needed here."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .model import LinearModel, features, title_features

# softmax temperatures used when not calibrated (cross-validation): the values calibrated on
# complaints_dev for the full-text and the short-input model
DEFAULT_TEMPERATURE = 2.5
SHORT_TEMPERATURE = 2.5
# weight of the low-rank model beside the blocks (its scores are about three times as spread
# as theirs: ≈ 0.3 of the sum). Not the best of one split but the middle of a plateau: the
# model's own 5-fold macro-F1 rose for fold seeds 0, 1 and 2 alike with rank 150–600, C 10–100
# and weights 0.1–0.2 (all within 0.001 of each other)
LOWRANK = 0.125
# macro-F1 counts every category alike: each one-vs-rest SVM weighs its two sides as if they
# were of the same size (``balance`` 1, scikit-learn's "balanced"), and a category's bias is
# raised by ``prior`` × −log(its share of the training documents). 交通运输 (6.5 % of the data)
# and 商贸旅游 had lost most to 城乡建设 (22 %)
BALANCE = 1.0
PRIOR = 0.1
SHORT_CHARS = 80           # input of at most this many characters is scored by the short model
# a short message with a title (a subject line and a line or two) is scored by both models,
# their probabilities averaged: the full-text model learned titles as titles, the short model
# the short forms of messages. Untitled short input (a chat line) is the short model's alone
SHORT_MIX = 0.5
# short input has few features: stronger regularisation (C) and naive-Bayes smoothing (alpha)
# rank the right category among the first three more often (first 60 characters, titles)
SHORT_PARAMS = {"C": 0.25, "alpha": 1.0, "min_df": 3, "title_weight": 1, "title_share": 0.0,
                "prune": 0.08, "lowrank": LOWRANK, "temperature": SHORT_TEMPERATURE}


def _tfidf(docs: list[Counter], min_df: int):
    """Sublinear TF-IDF, L2-normalised (as sklearn's TfidfVectorizer with these settings, built
    straight from the counts): (matrix, feature → column, idf)."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    vocab: dict[str, int] = {}
    indptr, indices, data = [0], [], []
    for d in docs:
        for k, n in d.items():
            indices.append(vocab.setdefault(k, len(vocab)))
            data.append(n)
        indptr.append(len(indices))
    counts = csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                         np.asarray(indptr, dtype=np.int64)), shape=(len(docs), len(vocab)))
    df = np.bincount(np.asarray(indices, dtype=np.int64), minlength=len(vocab))
    names = np.array(list(vocab), dtype=object)
    keep = np.flatnonzero(df >= min_df)
    keep = keep[np.argsort(names[keep])]           # columns in alphabetical order
    tfidf = TfidfTransformer(sublinear_tf=True, norm="l2")
    X = tfidf.fit_transform(counts[:, keep]).tocsr()
    return X, {names[j]: i for i, j in enumerate(keep)}, tfidf.idf_


def _fit_block(docs: list[Counter], y: np.ndarray, classes: list[str], *, C: float,
               alpha: float, min_df: int, seed: int, balance: float = 0.0):
    """One NBSVM over one block of features: (feature → column, idf, W[class, column], bias).
    ``balance``: each one-vs-rest SVM weighs its two sides by (n / (2 · side's size)) to this
    power — 1 is scikit-learn's "balanced", 0 no weights."""
    from sklearn.svm import LinearSVC

    X, columns, idf = _tfidf(docs, min_df)
    B = (X > 0).astype(np.float64)
    W = np.zeros((len(classes), X.shape[1]))
    bias = np.zeros(len(classes))
    n = len(y)
    for k, c in enumerate(classes):
        pos = y == c
        p = alpha + np.asarray(B[pos].sum(0)).ravel()
        q = alpha + np.asarray(B[~pos].sum(0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum()))
        n_pos = int(pos.sum())
        weight = {True: (n / (2 * n_pos)) ** balance,
                  False: (n / (2 * (n - n_pos))) ** balance} if balance and 0 < n_pos < n else None
        svm = LinearSVC(C=C, random_state=seed, max_iter=3000,
                        class_weight=weight).fit(X.multiply(r).tocsr(), pos)
        W[k] = svm.coef_.ravel() * r
        bias[k] = svm.intercept_[0]
    return columns, idf, W, bias, X


def _fit_lowrank(Xs: list, y: np.ndarray, classes: list[str], *, rank: int, C: float,
                 seed: int):
    """Multinomial logistic regression on the first ``rank`` latent dimensions (truncated SVD,
    LSA) of the blocks' TF-IDF side by side. Linear in the features: folded back, one weight
    per (feature, category) — (W[class, column] over the columns of ``Xs`` in order, bias)."""
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.linear_model import LogisticRegression

    X = hstack(Xs).tocsr()
    rank = min(rank, min(X.shape) - 1)
    svd = TruncatedSVD(rank, n_iter=4, random_state=seed).fit(X)
    lr = LogisticRegression(C=C, max_iter=5000).fit(svd.transform(X), y)
    coef, bias = lr.coef_, lr.intercept_
    if len(lr.classes_) == 2:                      # one row: the second class against the first
        coef, bias = np.vstack([-coef / 2, coef / 2]), np.array([-bias[0] / 2, bias[0] / 2])
    order = [list(lr.classes_).index(c) for c in classes]
    return coef[order] @ svd.components_, bias[order]


def fit(pairs: list[tuple[list[str], list[str]]], labels: list[str], *, C: float = 1.0,
        alpha: float = 0.25, min_df: int = 5, title_weight: int = 3, title_share: float = 0.2,
        prune: float = 0.04, lowrank: float = LOWRANK, rank: int = 300, lowrank_C: float = 30.0,
        balance: float = BALANCE, prior: float = PRIOR, calibrate: bool = True, seed: int = 0,
        temperature: float = DEFAULT_TEMPERATURE,
        short: tuple[list, list] | None = None, short_chars: int = SHORT_CHARS) -> LinearModel:
    """pairs: (title tokens, text tokens) per document; labels: first-level category names.
    ``short``: (pairs, labels) for the short-input model, or None for none."""
    classes = sorted(set(labels))
    y = np.asarray(labels)
    counts = [features(tt, tx, title_weight) for tt, tx in pairs]
    blocks = {"words": [Counter({k: n for k, n in c.items() if k[0] != "#"}) for c in counts],
              "pairs": [Counter({k: n for k, n in c.items() if k[0] == "#"}) for c in counts]}
    share = {"words": 0.5, "pairs": 0.5}
    if title_share > 0 and any(tt for tt, _ in pairs):
        blocks["title"] = [title_features(tt) for tt, _ in pairs]
        share = {"words": (1 - title_share) / 2, "pairs": (1 - title_share) / 2,
                 "title": title_share}
    bias = np.zeros(len(classes))
    title_bias = np.zeros(len(classes))
    fitted = {}
    for name, docs in blocks.items():
        has = np.array([bool(d) for d in docs]) if name == "title" else np.ones(len(docs), bool)
        docs = [d for d, h in zip(docs, has, strict=False) if h]
        columns, idf, W, b, X = _fit_block(docs, y[has], classes, C=C, alpha=alpha,
                                           min_df=min_df if name != "title" else max(2, min_df - 2),
                                           seed=seed, balance=balance)
        fitted[name] = [columns, idf, W * share[name], X]
        if name == "title":
            title_bias += share[name] * b
        else:
            bias += share[name] * b
    if lowrank > 0:
        # a low-rank model of words and pairs together: it shares weight among features that
        # occur together, which the per-feature SVMs cannot; added with weight ``lowrank``
        U, b = _fit_lowrank([fitted["words"][3], fitted["pairs"][3]], y, classes,
                            rank=rank, C=lowrank_C, seed=seed)
        n = fitted["words"][3].shape[1]
        fitted["words"][2] = fitted["words"][2] + lowrank * U[:, :n]
        fitted["pairs"][2] = fitted["pairs"][2] + lowrank * U[:, n:]
        bias += lowrank * b
    if prior:
        # a smaller category's score is raised by ``prior`` × −log(its share of the documents)
        freq = np.array([(y == c).mean() for c in classes])
        bias -= prior * np.log(freq)
    vocab: dict[str, list[float]] = {}
    for columns, idf, W, _ in fitted.values():
        # features whose weights are all tiny change no decision: left out of the file
        keep = np.abs(W).max(0) >= prune
        vocab.update({f: [float(idf[j]), *map(float, W[:, j])] for f, j in columns.items()
                      if keep[j]})
    meta = {"documents": len(labels), "per_class": {c: int((y == c).sum()) for c in classes},
            "algorithm": "NBSVM one-vs-rest per block (words, pairs, title), scores averaged"
                         + (", plus logistic regression on an LSA of words and pairs"
                            if lowrank > 0 else ""),
            "params": {"C": C, "alpha": alpha, "min_df": min_df, "title_weight": title_weight,
                       "title_share": title_share, "prune": prune, "lowrank": lowrank,
                       "rank": rank, "lowrank_C": lowrank_C, "balance": balance,
                       "prior": prior}}
    model = LinearModel(classes, bias.tolist(), list(vocab), list(vocab.values()), temperature,
                        title_weight, meta, norm="per_block", title_bias=title_bias.tolist(),
                        title_share=share.get("title", 0.0))
    if short is not None:
        model.short = fit(*short, calibrate=calibrate, seed=seed, **SHORT_PARAMS)
        model.short.meta["used_for"] = f"input of at most {short_chars} characters"
        model.short_chars = short_chars
        model.short_mix = SHORT_MIX
    if calibrate and len(labels) >= 50:
        model.temperature = _calibrate(pairs, labels, C=C, alpha=alpha, min_df=min_df,
                                       title_weight=title_weight, title_share=title_share,
                                       prune=prune, lowrank=lowrank, rank=rank,
                                       lowrank_C=lowrank_C, balance=balance, prior=prior,
                                       seed=seed, temperature=temperature)
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
            scores.append(m.scores(m.vector_of(*pairs[i]), bool(pairs[i][0])))
            gold.append(m.classes.index(labels[i]))
    S, g = np.asarray(scores), np.asarray(gold)
    best_t, best_loss = params["temperature"], math.inf
    for t in np.arange(0.5, 12.01, 0.25):
        z = S * t
        z = z - z.max(1, keepdims=True)
        loss = -(z[np.arange(len(g)), g] - np.log(np.exp(z).sum(1))).mean()
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t
