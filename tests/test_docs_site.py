"""The built documentation site: an API page for every public name, a figure for every gallery example.

Runs on a site built with ``python -m sphinx -W --keep-going -b html docs
docs/_build/html`` (CI builds it on one leg, then runs this file with
``BOOSTOBJ_DOCS_BUILT=1``, which makes a missing site a failure); skipped
where the site was not built.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import boostobj
import boostobj.dask
import boostobj.intervals
import boostobj.leaf_refit
import boostobj.sklearn

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "_build" / "html"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("plot_*.py"))

if not (SITE / "index.html").is_file():
    if os.environ.get("BOOSTOBJ_DOCS_BUILT") == "1":
        raise RuntimeError(f"BOOSTOBJ_DOCS_BUILT=1 but {SITE} holds no built site")
    pytest.skip("the documentation site is not built", allow_module_level=True)

# the path a user imports each public name from (IntervalRegressor: boostobj.intervals)
PUBLIC = ([f"boostobj.{n}" for n in boostobj.__all__ if n != "IntervalRegressor"]
          + [f"boostobj.sklearn.{n}" for n in boostobj.sklearn.__all__]
          + [f"boostobj.intervals.{n}" for n in boostobj.intervals.__all__]
          + [f"boostobj.dask.{n}" for n in boostobj.dask.__all__]
          + [f"boostobj.leaf_refit.{n}" for n in boostobj.leaf_refit.__all__])


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_an_api_page(name):
    page = SITE / "generated" / f"{name}.html"
    assert page.is_file(), f"no API page for {name}"
    assert f'id="{name}"' in page.read_text(encoding="utf-8"), f"{page.name} does not document {name}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_gallery_example_ran_and_made_its_figure(example):
    page = SITE / "auto_examples" / f"{example.stem}.html"
    assert page.is_file(), f"the gallery has no page for {example.name}"
    images = re.findall(r'src="(?:\.\./)?_images/(sphx_glr_' + re.escape(example.stem) + r'_\d+\.png)"',
                        page.read_text(encoding="utf-8"))
    assert images, f"{example.name} made no figure"
    assert all((SITE / "_images" / img).is_file() for img in images)


def test_every_loss_has_its_page():
    for name in ("log_cosh", "huber", "quantile", "expectile", "exponential", "focal", "hinge", "modified_huber"):
        assert (SITE / "losses" / f"{name}.html").is_file(), name
