"""Which numbers a section of the README or of a documentation page quotes, and whether its
declared sources contain them.

Convention (one HTML comment at the top of a section, before or after its heading)::

    <!-- numbers: benchmarks/results/speed/speed_small.md tests/test_training.py -->
    <!-- params: 200 0.1 3 -->

``numbers:`` names the committed files the section's figures come from
(results tables, experiment output, or a test file whose assertion states the
figure). ``params:`` lists numbers that are inputs, not measurements (rounds,
learning rate, a threshold we chose). A ``###`` subsection inherits the
declarations of its ``##`` section.

A section is the text from one ``##`` or ``###`` heading to the next. Every
number in its prose and tables must appear, with the same rounding, in one of
its sources or its params. Not checked (the exemptions, kept small):

- fenced code blocks, inline code, HTML comments and link targets: code and
  paths, not claims; numbers that occur in the section's own code are also
  exempt in its prose (they are the example's parameters);
- numbers glued to a letter or underscore (``float32``, ``x1000``, ``cu12``),
  after ``#`` (issue numbers) or in ``N:M`` (journal volume:page);
- versions: ``X.Y.Z``, and a number right after a product name (Python,
  XGBoost, LightGBM, CUDA, CuPy, NumPy, scikit-learn, Dask, SciPy, MAPIE);
- years in citations (1900-2099 right after an author list or inside
  parentheses with a name), and ``Fig. N``, ``eq. N``, ``Table N``;
- list ordinals (``1.`` at the start of a line, ``(1)``) and single digits
  0-9 unless followed by ``%`` or ``x`` (a percentage or a ratio is a claim).

Run ``python tests/readme_numbers.py`` to list what each section fails on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# the README and the documentation's Markdown pages (the gallery's and the build's left out)
PAGES = [README] + sorted(p for p in (ROOT / "docs").rglob("*.md")
                          if not {"_build", "auto_examples", "generated"} & set(p.relative_to(ROOT / "docs").parts))

_PRODUCTS = ("Python", "XGBoost", "LightGBM", "CUDA", "CuPy", "NumPy", "scikit-learn", "sklearn", "Dask",
             "SciPy", "MAPIE", "pandas", "version", "v")
# a number: 1,234,567.89 | 12.5 | 1e-6 | 2.1e-6 ; optional k/K/M magnitude suffix
_NUMBER = re.compile(r"(?<![\w.#])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:[eE]([-+−]?\d+))?([kKM](?![\w]))?")
_HEADING = re.compile(r"^(#{2,3}) ")
_DECL = re.compile(r"<!--\s*(numbers|params):(.*?)-->", re.S)


@dataclass
class Section:
    title: str
    level: int
    lines: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _canonical(mantissa: str, exponent: str | None, suffix: str | None) -> float:
    # parsed whole: a commit hash such as 245e358 reads as a number beyond float range, inf
    exp = f"e{exponent.replace('−', '-')}" if exponent else ""
    value = float(mantissa.replace(",", "") + exp)
    if suffix:
        value *= {"k": 1e3, "K": 1e3, "M": 1e6}[suffix]
    return value


def numbers_in(text: str) -> list[tuple[str, float]]:
    """(as written, value) for every number in ``text``, signs dropped."""
    return [(m.group(0), _canonical(m.group(1), m.group(2), m.group(3))) for m in _NUMBER.finditer(text)]


def _values(text: str) -> set[float]:
    return {v for _, v in numbers_in(text)}


def sections(readme: str) -> list[Section]:
    """The README split at ``##``/``###`` headings, with each section's declarations."""
    out: list[Section] = [Section("(top)", 1)]
    lines = readme.splitlines()
    pending: list[str] = []  # comment lines just before a heading belong to that heading
    in_fence = False
    for line in lines:
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and _HEADING.match(line):
            level = len(_HEADING.match(line).group(1))
            sec = Section(line.lstrip("# ").strip(), level)
            sec.lines.extend(pending)
            out[-1].lines = out[-1].lines[: len(out[-1].lines) - len(pending)]
            out.append(sec)
            pending = []
            continue
        out[-1].lines.append(line)
        stripped = line.strip()
        if not in_fence and (stripped.startswith("<!--") or (pending and not stripped)):
            pending.append(line)
        else:
            pending = []
    parent: Section | None = None
    for sec in out:
        for kind, body in _DECL.findall(sec.text):
            (sec.sources if kind == "numbers" else sec.params).extend(body.split())
        if sec.level == 2:
            parent = sec
        elif sec.level == 3 and parent is not None:
            sec.sources = parent.sources + sec.sources
            sec.params = parent.params + sec.params
    return out


def _code_and_prose(text: str) -> tuple[str, str]:
    """(code: fenced blocks + inline code, prose: the rest without comments and link targets)."""
    code: list[str] = []

    def keep(m: re.Match) -> str:
        code.append(m.group(0))
        return " "

    text = re.sub(r"```.*?```", keep, text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", keep, text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    return "\n".join(code), text


_EXEMPT_CONTEXT = [
    re.compile(r"\d+\.\d+\.\d+(?:\.\d+)?"),                                   # versions X.Y.Z
    re.compile(r"(?:%s)\s*(?:[<>=≥≤]=?\s*)?\d+(?:\.\d+)*(?:\.x)?" % "|".join(map(re.escape, _PRODUCTS))),
    re.compile(r"\d+\s*:\s*\d+"),                                             # volume:page
    re.compile(r"(?:Fig\.|Figure|eq\.|Table|issue|Section|panel)\s*\d+", re.I),
    re.compile(r"(?:et al\.|[A-Z]\w+),?\s+\(?(?:19|20)\d\d\b"),                # citations: Name 2019, Name (2013)
    re.compile(r"^\s*\d+\.\s", re.M),                                        # ordered-list ordinals
    re.compile(r"\(\d\)"),                                                    # (1) enumerations
]


def unexplained(section: Section, root: Path = ROOT) -> list[str]:
    """The numbers of a section's prose and tables that none of its sources or params contains."""
    code, prose = _code_and_prose(section.text)
    for pattern in _EXEMPT_CONTEXT:
        prose = pattern.sub(" ", prose)
    allowed = _values(code) | _values(" ".join(section.params))
    for src in section.sources:
        path = root / src
        if not path.is_file():
            return [f"<missing source {src}>"]
        allowed |= _values(path.read_text(encoding="utf-8"))
    bad = []
    for m in _NUMBER.finditer(prose):
        written, value = m.group(0), _canonical(m.group(1), m.group(2), m.group(3))
        after = prose[m.end(): m.end() + 1]
        if value < 10 and m.group(0).isdigit() and after not in ("%", "x", "×"):
            continue  # a small count (5 seeds, 3 quantiles), not a measurement
        if value not in allowed:
            bad.append(written)
    return bad


def report(page: Path = README, root: Path = ROOT) -> dict[str, list[str]]:
    """Section title -> its unexplained numbers, for every section of ``page`` that has any
    (sources named relative to ``root``, the repository)."""
    out = {}
    for sec in sections(page.read_text(encoding="utf-8")):
        bad = unexplained(sec, root)
        if bad:
            out[sec.title] = bad
    return out


if __name__ == "__main__":
    for page in PAGES:
        for title, bad in report(page).items():
            print(f"{page.relative_to(ROOT)}: {title}: {' '.join(bad)}")
