"""The three-level category tree, read from ``taxonomy.yaml`` in the configured folder."""
from __future__ import annotations

from pathlib import Path

from .rules import read_yaml


class Taxonomy:
    """level1 → level2 → [level3], in the order they are shown to citizens."""

    def __init__(self, tree: dict[str, dict[str, list[str]]]):
        self.tree = tree

    @classmethod
    def load(cls, config_dir: Path) -> Taxonomy:
        path = Path(config_dir) / "taxonomy.yaml"
        raw = read_yaml(path)
        return cls({l1: {l2: list(l3s or []) for l2, l3s in sub.items()} for l1, sub in raw.items()})

    def level1(self) -> list[str]:
        return list(self.tree)

    def level2(self, level1: str) -> list[str]:
        return list(self.tree.get(level1, {}))

    def level3(self, level1: str, level2: str) -> list[str]:
        return list(self.tree.get(level1, {}).get(level2, []))

    def contains(self, level1: str, level2: str = "", level3: str = "") -> bool:
        if level1 not in self.tree:
            return False
        if level2 and level2 not in self.tree[level1]:
            return False
        return not level3 or level3 in self.tree[level1][level2]

