"""Character pairs as integers: the model's pair features and the phrase matchers look a text's
pairs up with one vectorised search instead of building a string for every pair."""
from __future__ import annotations

import numpy as np

_END = np.uint64(2**64 - 1)   # larger than any code: a search never runs off a table's end


def pair_codes(text: str) -> np.ndarray:
    """Every pair of adjacent characters of ``text`` as one integer: the pair's 8 bytes in
    UTF-32-LE read as one number (first + second << 32), a view of the encoded text."""
    raw = text.encode("utf-32-le", "surrogatepass")
    return np.ndarray((max(len(text) - 1, 0),), "<u8", raw, 0, (4,))


class PairTable:
    """Two-character strings, each with a value (e.g. a row of the weights), found by code."""

    def __init__(self, pairs: list[str], values):
        codes = pair_codes("".join(pairs))[::2]        # "abcd" → ab, cd
        order = np.argsort(codes, kind="stable")
        self.codes = np.append(codes[order], _END)
        self.values = np.asarray(values)[order]

    def positions(self, codes: np.ndarray) -> np.ndarray:
        """The table position of each of ``codes`` found in the table (repeats kept). Sorted
        codes are searched faster."""
        pos = self.codes.searchsorted(codes)
        return pos[self.codes[pos] == codes]

    def count(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value, number of occurrences in ``codes``) of each pair of the table that occurs."""
        pos = self.positions(np.sort(codes))          # sorted: repeats are neighbours
        edge = np.empty(len(pos) + 1, bool)
        edge[0] = edge[-1] = True
        np.not_equal(pos[1:], pos[:-1], out=edge[1:-1])
        start = np.flatnonzero(edge)
        return self.values[pos[start[:-1]]], np.diff(start)
