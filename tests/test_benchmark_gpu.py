"""benchmarks/gpu.py stays runnable: a clear stop without a GPU, a CPU smoke run."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from boostobj.device import DeviceFallbackWarning, resolve_device

from conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu_bench():
    yield from load_benchmark(SCRIPT, "gpu_bench")


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


# ---- CUDA versions of XGBoost's wheel and CuPy (decision logic, no GPU needed) ----
def test_xgboost_cuda_from_build_info_or_wheel_requirement(gpu_bench):
    assert gpu_bench.xgboost_cuda({"USE_CUDA": True, "CUDA_VERSION": [13, 3]}, [])[0] == 13
    # a CUDA build that does not report its version: the wheel's NCCL requirement says it
    req = ["numpy", "nvidia-nccl-cu12; platform_system == 'Linux'", "scipy"]
    assert gpu_bench.xgboost_cuda({"USE_CUDA": True}, req) == (12, "wheel requires nvidia-nccl-cu12")
    assert gpu_bench.xgboost_cuda({"USE_CUDA": False}, ["numpy"]) == (None, "CPU-only build")


def test_installed_xgboost_cuda_matches_its_generation(gpu_bench):
    import xgboost

    major = gpu_bench.xgboost_cuda()[0]
    generation = tuple(int(p) for p in xgboost.__version__.split(".")[:2])
    assert major == (13 if generation >= (3, 4) else 12)  # 3.2 wheels: CUDA 12; 3.4: CUDA 13


def test_cupy_cuda_from_runtime_or_package_name(gpu_bench):
    class Runtime:
        @staticmethod
        def runtimeGetVersion():
            return 13000

    fake_cupy = type("cupy", (), {"cuda": type("cuda", (), {"runtime": Runtime})})
    assert gpu_bench.cupy_cuda(fake_cupy, []) == (13, "CuPy runtime 13.0")
    assert gpu_bench.cupy_cuda(None, ["numpy", "cupy-cuda12x"]) == (12, "package cupy-cuda12x")
    assert gpu_bench.cupy_cuda(None, ["numpy"]) == (None, "CuPy not installed")


def test_a_cuda_mismatch_is_refused_with_the_fix(gpu_bench, monkeypatch, capsys):
    assert gpu_bench.cuda_mismatch((13, "a"), (13, "b")) is None
    assert gpu_bench.cuda_mismatch((12, "a"), (None, "CuPy not installed")) is None
    assert gpu_bench.cuda_mismatch((None, "CPU-only build"), (12, "b")) is None
    message = gpu_bench.cuda_mismatch((13, "wheel requires nvidia-nccl-cu13"), (12, "package cupy-cuda12x"))
    assert "CUDA 13" in message and "CUDA 12" in message and '.[gpu-cuda13]' in message
    # and main stops on it before measuring anything, even for a CPU smoke run
    monkeypatch.setattr(gpu_bench, "xgboost_cuda", lambda: (13, "wheel requires nvidia-nccl-cu13"))
    monkeypatch.setattr(gpu_bench, "cupy_cuda", lambda: (12, "package cupy-cuda12x"))
    with pytest.raises(SystemExit) as stop:
        gpu_bench.main(["--allow-cpu", "--rows", "3000"])
    assert stop.value.code == gpu_bench.CUDA_MISMATCH_EXIT
    assert "pip install \".[gpu-cuda13]\"" in capsys.readouterr().err
