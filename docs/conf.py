"""Sphinx configuration of boostobj's documentation site.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``. Offline: no intersphinx inventories are fetched,
so references to NumPy, XGBoost, LightGBM and scikit-learn names stay plain
text (``nitpick_ignore_regex``); every reference to a boostobj name must
resolve (``nitpicky``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's boostobj, also for an uninstalled build

import boostobj  # noqa: E402

project = "boostobj"
author = "the boostobj developers"
copyright = "2026, the boostobj developers"
version = release = boostobj.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.rst", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
nitpicky = True
# Names from other projects: no inventories are downloaded, so they are not links.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|xgboost|xgb|lightgbm|lgb|sklearn|scipy|pandas|dask|distributed|cupy|jax|mapie|"
               r"typing|collections|types|concurrent|threading|pathlib|os)(\..*)?"),
    (r"py:.*", r"(Any|Array|Callable|Sequence|Iterable|Mapping|NamedTuple|Literal|Optional|Union|Self)"),
    (r"py:.*", r"(array-like|array_like|ndarray|optional|callable|default.*|of|or|shape.*|\(.*|.*\))"),
    (r"py:class", r"(float|int|str|bool|dict|list|tuple|object|type|None|bytes|complex|slice)"),
    (r"py:class", r"boostobj\..*\._\w+"),  # private bases (a mixin, a shared base class)
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": False,
                           "exclude-members": "set_fit_request,set_predict_request,set_score_request,"
                                              "set_partial_fit_request,set_transform_request"}
# an override without a docstring of its own shows none: the frameworks' docstrings of the methods
# the drop-ins override reference their own sites
autodoc_inherit_docstrings = False
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "reference_url": {},
}
os.environ.setdefault("MPLBACKEND", "Agg")

html_theme = "pydata_sphinx_theme"
html_title = f"boostobj {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_show_sourcelink = False


_LITERAL = re.compile(r"(``.*?``|:math:`[^`]*`|`[^`]*`)")


def _escape_bars(app, what, name, obj, options, lines):
    """Plain-text ``|r|`` in docstrings is an absolute value, not an rst substitution: escape the
    bars outside literals and math (the docstrings stay readable as plain text in ``help()``)."""
    in_math, math_indent = False, 0
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if in_math and stripped and indent <= math_indent:
            in_math = False
        if stripped.startswith(".. math::"):
            in_math, math_indent = True, indent
            continue
        if in_math or "|" not in line:
            continue
        parts = _LITERAL.split(line)
        lines[i] = "".join(p if j % 2 else p.replace("|", r"\|") for j, p in enumerate(parts))


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
