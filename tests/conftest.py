"""Hypothesis profiles: enough examples to find edge cases, few enough for 2 cores."""

import os

from hypothesis import settings

# "ci" (the default) replays the same examples on every run, so CI is
# reproducible; "thorough" (HYPOTHESIS_PROFILE=thorough) explores afresh.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def load_benchmark(script, name=None):  # name: unused, kept for the callers
    """Import a module of the benchmarks package (``script``: its file); a generator for
    module-scoped fixtures."""
    import importlib
    import sys

    root = str(script.parent.parent)
    added = root not in sys.path
    if added:  # the repository root, where the benchmarks package lives
        sys.path.insert(0, root)
    try:
        yield importlib.import_module(f"benchmarks.{script.stem}")
    finally:
        if added:
            sys.path.remove(root)
