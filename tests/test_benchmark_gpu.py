"""benchmarks/gpu.py stays runnable: a clear stop without a GPU, a CPU smoke run."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

from boostobj.device import DeviceFallbackWarning, resolve_device

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu_bench():
    spec = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _xgboost_gpu() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeviceFallbackWarning)
        return resolve_device("cuda", "xgboost") == "cuda"


@pytest.mark.skipif(_xgboost_gpu(), reason="a GPU is usable: the benchmark would run")
def test_without_a_gpu_it_stops_with_a_message(gpu_bench, capsys):
    with pytest.raises(SystemExit) as stop:
        gpu_bench.main([])
    assert stop.value.code == gpu_bench.NO_GPU_EXIT
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_cpu_smoke_run_fills_the_table(gpu_bench, tmp_path, capsys):
    out = tmp_path / "gpu.md"
    rows = gpu_bench.main(["--allow-cpu", "--rows", "3000", "--rounds", "3", "--repeats", "1",
                           "--threads", "1", "--out", str(out)])
    assert {(r.framework, r.loss) for r in rows} == {
        (f, loss) for f in ("xgboost", "lightgbm") for loss in gpu_bench.LOSSES}
    assert all(r.builtin_s > 0 and r.numpy_s > 0 and r.grad_numpy_ms > 0 for r in rows)
    text = out.read_text()
    assert "| xgboost |" in text and "| lightgbm |" in text and "boostobj CuPy s" in text
    assert "--allow-cpu" in text  # the command that made it
