"""Every number the README quotes comes from a committed file it names.

Each README section that quotes measured numbers names its sources in an
HTML comment at its top (``<!-- numbers: path ... -->``); see
``tests/readme_numbers.py`` for the rule and its exemptions. One test per
section, so a section fails on its own and names the numbers it cannot
explain. ``python tests/readme_numbers.py`` prints the same report.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from readme_numbers import PAGES, ROOT, numbers_in, report, sections, unexplained

PAGE_SECTIONS = [(page, sec) for page in PAGES for sec in sections(page.read_text(encoding="utf-8"))]
SECTIONS = [sec for _, sec in PAGE_SECTIONS]


@pytest.mark.parametrize("section", SECTIONS,
                         ids=[f"{page.relative_to(ROOT)}:{sec.title}" for page, sec in PAGE_SECTIONS])
def test_section_numbers_come_from_its_declared_sources(section):
    bad = unexplained(section)
    assert not bad, (
        f"section {section.title!r} quotes numbers that none of its declared sources "
        f"({section.sources or 'none: add <!-- numbers: path ... -->'}) contains with the same "
        f"rounding: {bad}. Quote the committed result exactly, or drop the claim.")


def test_every_declared_source_is_a_committed_file():
    for sec in SECTIONS:
        for src in sec.sources:
            assert (ROOT / src).is_file(), f"section {sec.title!r} names {src}, which does not exist"


def test_number_parsing():
    got = [v for _, v in numbers_in("1,000,000 rows, 1M, 100k, 2.1e-6, 1.2-1.5x, −0.047, 10%")]
    assert got == [1e6, 1e6, 1e5, 2.1e-6, 1.2, 1.5, 0.047, 10.0]


def test_the_check_fails_when_a_results_file_changes_without_the_page(tmp_path):
    """Copy a page with its sources, change one number in one results file: that section (and
    only sections citing that file) must fail."""
    def candidates():  # (page, section, source, a table figure that the source holds verbatim)
        for page, sec in PAGE_SECTIONS:
            for src in (s for s in sec.sources if s.startswith("benchmarks/results/")):
                table = "\n".join(line for line in sec.lines if line.startswith("|"))
                text = (ROOT / src).read_text(encoding="utf-8")
                others = "\n".join((ROOT / o).read_text(encoding="utf-8") for o in sec.sources if o != src)
                for w, _ in numbers_in(table):  # a figure only this source explains
                    if re.fullmatch(r"\d+\.\d{3,}", w) and w in text and w not in others:
                        yield page, sec, src, w

    page, sec, src, target = next(candidates())
    for other in sections(page.read_text(encoding="utf-8")):
        for s in other.sources:
            dst = tmp_path / s
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / s, dst)
    copy = tmp_path / page.relative_to(ROOT)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(page, copy)
    assert report(copy, tmp_path) == report(page)  # the copy behaves as the original
    path = tmp_path / src
    text = path.read_text(encoding="utf-8")
    # a rerun that moved this figure in its last digit, everywhere the file has it
    path.write_text(re.sub(rf"(?<![\d.]){re.escape(target)}(?!\d)", target + "7", text), encoding="utf-8")
    assert target in unexplained(sec, tmp_path)
    assert report(copy, tmp_path) != report(page)


def test_a_section_quoting_numbers_without_sources_fails():
    (sec,) = [s for s in sections("## Made up\n\nOurs is 1.37x faster on 12345 rows.\n") if s.title == "Made up"]
    assert unexplained(sec, Path("/nonexistent")) == ["1.37", "12345"]
