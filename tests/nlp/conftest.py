from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_DATA = ROOT.parent / "shared" / "data" / "complaints_dev.csv"


@pytest.fixture(scope="session")
def classifier():
    from nlp import load_classifier

    return load_classifier()
