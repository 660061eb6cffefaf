"""The README's quick-start example runs as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def _quickstart_code() -> str:
    text = README.read_text()
    section = text.split("<!-- SECTION:quickstart -->")[1].split("<!-- /SECTION:quickstart -->")[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quickstart_runs_and_gives_sensible_answers():
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no StartValueWarning or numeric warnings in the example
        exec(compile(_quickstart_code(), str(README), "exec"), scope)
    q90, proba = scope["q90"], scope["proba"]
    assert q90.shape == (500,) and np.isfinite(q90).all()
    assert 1000 < np.median(q90) < 1600  # the 0.9 quantile of labels near 1000 + heavy tails
    assert proba.shape == (500, 2) and np.allclose(proba.sum(axis=1), 1.0)
