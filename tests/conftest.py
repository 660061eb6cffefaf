"""Hypothesis profiles: enough examples to find edge cases, few enough for 2 cores."""

import os

from hypothesis import settings

# "ci" (the default) replays the same examples on every run, so CI is
# reproducible; "thorough" (HYPOTHESIS_PROFILE=thorough) explores afresh.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def load_benchmark(script, name):
    """Import a script of benchmarks/ as a module (they are scripts, not a package); a generator
    for module-scoped fixtures: the module is unregistered again afterwards."""
    import importlib.util
    import sys

    sys.path.insert(0, str(script.parent))  # scripts import their siblings (leaf_refit -> quality)
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)
    sys.path.remove(str(script.parent))
