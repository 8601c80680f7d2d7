"""jieba with the domain dictionary. A private ``jieba.Tokenizer`` so the global one is untouched."""
from __future__ import annotations

import logging
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)


class Segmenter:
    def __init__(self, userdict: Path | None = None, extra_words: list[str] | None = None,
                 hmm: bool = False):
        self.hmm = hmm
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        words = read_userdict(userdict) if userdict is not None else []
        for word in [*words, *(extra_words or ())]:
            if word not in self.tokenizer.FREQ or not self.tokenizer.FREQ[word]:
                self.tokenizer.add_word(word)

    def cut(self, text: str) -> list[str]:
        return self.tokenizer.lcut(text, HMM=self.hmm)


def read_userdict(path: Path) -> list[str]:
    """One term per line; ``#`` starts a comment. jieba picks a frequency that keeps it whole."""
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                words.append(line.split()[0])
    return words
