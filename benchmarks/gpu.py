"""GPU training time: built-in objective vs boostobj with NumPy vs boostobj with CuPy.

On a machine with an NVIDIA GPU (XGBoost's CUDA wheel, plus ``pip install
".[gpu]"`` for CuPy), for 1M and 10M rows it times ``--rounds``
boosting rounds of

- XGBoost ``device="cuda"``: the built-in objective, ``boostobj`` computing
  gradients with NumPy on the host (XGBoost copies them to the GPU every
  round), and ``boostobj`` with ``obj.on_device("cuda")`` computing them with
  CuPy on the GPU (only the margin crosses to the device: XGBoost hands it
  over as host NumPy, dmlc/xgboost#10049);
- LightGBM ``device_type="gpu"`` (OpenCL; CPU with a warning where there is
  none): the built-in objective and ``boostobj`` with NumPy (LightGBM takes
  host gradients only, so there is no CuPy column).

Losses: squared error (``reg:squarederror`` / ``regression``) and the 0.9
quantile (``reg:quantileerror`` / ``quantile``). Goal: boostobj with CuPy at
most 1.2 x the built-in on XGBoost.

First it prints the CUDA major version XGBoost was built for (its
``build_info()``, else its wheel's ``nvidia-nccl-cuNN`` requirement) and the
one of the installed CuPy, and stops (exit status 3) when they differ: one
process cannot load two CUDA runtimes reliably, and the fix is the matching
extra (``gpu-cuda12`` for XGBoost <= 3.2, ``gpu-cuda13`` = ``gpu`` for
XGBoost 3.4).

Prints a Markdown table and writes ``benchmarks/results/speed/gpu.md``. Without a
usable GPU it stops with a message (exit status 2); ``--allow-cpu`` runs the
same code on the CPU as a smoke test (small ``--rows``; nothing is written
unless ``--out`` is given).

Run: ``python -m benchmarks.gpu`` (defaults: 1M and 10M rows x 20 float32
features, depth 6 / 63 leaves, 50 rounds, best of 2).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

import boostobj
from boostobj.device import gradient_namespace, lightgbm_device_params, resolve_device, xgboost_cuda

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "speed" / "gpu.md"
GOAL = 1.2
NO_GPU_EXIT = 2
CUDA_MISMATCH_EXIT = 3

LOSSES: dict[str, dict[str, Any]] = {
    "squared_error": {"make": boostobj.squared_error, "xgboost": {"objective": "reg:squarederror"},
                      "lightgbm": {"objective": "regression"}},
    "quantile(0.9)": {"make": lambda: boostobj.quantile(0.9),
                      "xgboost": {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
                      "lightgbm": {"objective": "quantile", "alpha": 0.9}},
}


@dataclass
class Row:
    framework: str
    device: str
    loss: str
    rows: int
    builtin_s: float
    numpy_s: float
    cupy_s: float | None
    grad_numpy_ms: float
    grad_cupy_ms: float | None


# ---- CUDA versions: XGBoost's wheel and CuPy must agree ---------------------------
def cupy_cuda(cupy: Any = None, distributions: list[str] | None = None) -> tuple[int | None, str]:
    """(CUDA major version of the installed CuPy, where that was read); None without CuPy.

    The CUDA runtime CuPy loaded (``cupy.cuda.runtime.runtimeGetVersion()``, e.g.
    13000) when CuPy imports and works, else the ``cupy-cudaNNx`` package name.
    """
    if cupy is not None:
        try:
            v = int(cupy.cuda.runtime.runtimeGetVersion())
            return v // 1000, f"CuPy runtime {v // 1000}.{v % 1000 // 10}"
        except Exception:  # noqa: BLE001 - no driver: fall back to the package name
            pass
    if distributions is None:
        distributions = [d.metadata["Name"] or "" for d in importlib.metadata.distributions()]
    for name in distributions:
        m = re.fullmatch(r"cupy-cuda(\d+)x", name.lower())
        if m:
            return int(m.group(1)), f"package {name}"
    return None, "CuPy not installed"


def cuda_mismatch(xgb: tuple[int | None, str], cp: tuple[int | None, str]) -> str | None:
    """The message refusing a CUDA mismatch between XGBoost and CuPy, or None when fine."""
    (x, xwhy), (c, cwhy) = xgb, cp
    if x is None or c is None or x == c:
        return None
    return (f"XGBoost is built for CUDA {x} ({xwhy}) but CuPy is for CUDA {c} ({cwhy}). Install the "
            f"CuPy for CUDA {x}: pip uninstall cupy-cuda{c}x && pip install \".[gpu-cuda{x}]\" "
            "(gpu-cuda12 for XGBoost <= 3.2, gpu-cuda13 = gpu for XGBoost 3.4).")


def make_data(n: int, n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 features; labels in the thousands with heavy-tailed noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    y = 1000.0 + 300.0 * X[:, 0] - 200.0 * np.sin(2.0 * X[:, 1]) + 100.0 * X[:, 2] * X[:, 3]
    y = (y + 50.0 * rng.standard_t(3, size=n)).astype(np.float32)
    return X, y


def best_of(repeats: int, run: Callable[[], Any], sync: Callable[[], None] = lambda: None) -> float:
    """Best wall time of ``repeats`` runs (seconds)."""
    best = np.inf
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def objective_call_ms(obj: boostobj.Objective, y: np.ndarray, cupy: Any) -> float:
    """One framework call (grad + hess) on n rows, as XGBoost's sklearn path makes it."""
    m = np.full(y.shape, np.float32(obj.init_score(y)))
    obj(y, m)  # warm: labels cached (on the device for a GPU objective)
    sync = (lambda: cupy.cuda.Device().synchronize()) if cupy is not None else (lambda: None)
    return 1e3 * best_of(5, lambda: obj(y, m), sync)


def bench_xgboost(X, y, loss: str, args, device: str, cupy: Any) -> Row:
    import xgboost as xgb

    spec = LOSSES[loss]
    obj = spec["make"]()
    common = {"device": device, "tree_method": "hist", "max_depth": args.depth, "eta": 0.1,
              "max_bin": 256, **({"nthread": args.threads} if args.threads else {})}
    dtrain = xgb.QuantileDMatrix(X, y, max_bin=256)
    start = {"base_score": obj.init_score(y), "disable_default_eval_metric": 1}

    def timed(params: dict, objective: Any = None) -> float:
        # one untimed round first: device context, CuPy kernel compilation, the
        # objective's per-dataset cache (labels go to the device once)
        xgb.train(params, dtrain, 1, obj=objective)
        return best_of(args.repeats, lambda: xgb.train(params, dtrain, args.rounds, obj=objective))

    builtin = timed({**common, **spec["xgboost"]})
    numpy_s = timed({**common, **start}, obj)
    cupy_s = grad_cupy = None
    if cupy is not None:
        gpu_obj = obj.on_device(device)
        cupy_s = timed({**common, **start}, gpu_obj)
        grad_cupy = objective_call_ms(gpu_obj, y, cupy)
    return Row("xgboost", device, loss, len(y), builtin, numpy_s, cupy_s,
               objective_call_ms(obj, y, None), grad_cupy)


def bench_lightgbm(X, y, loss: str, args, device: str) -> Row:
    import lightgbm as lgb

    spec = LOSSES[loss]
    obj = spec["make"]()
    dev = lightgbm_device_params(device)
    common = {"num_leaves": args.leaves, "max_depth": args.depth, "learning_rate": 0.1,
              "verbose": -1, **({"num_threads": args.threads} if args.threads else {}), **dev}
    data = lgb.Dataset(X, y, params={"max_bin": 255}, free_raw_data=False).construct()
    init = obj.init_score_array(y)
    data_init = lgb.Dataset(X, y, init_score=init, params={"max_bin": 255},
                            free_raw_data=False).construct()

    builtin = best_of(args.repeats, lambda: lgb.train({**common, **spec["lightgbm"]}, data,
                                                      args.rounds))
    numpy_s = best_of(args.repeats, lambda: lgb.train({**common, "objective": obj}, data_init,
                                                      args.rounds))
    used = "gpu (OpenCL)" if dev["device_type"] == "gpu" else "cpu"
    return Row("lightgbm", used, loss, len(y), builtin, numpy_s, None,
               objective_call_ms(obj, y, None), None)


def _ratio(t: float | None, base: float) -> str:
    return "n/a" if t is None else f"{t:.2f} ({t / base:.2f}x)"


def _ms(t: float | None) -> str:
    return "n/a" if t is None else f"{t:.2f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| framework | device | loss | rows | built-in s | boostobj NumPy s (x built-in) | "
        "boostobj CuPy s (x built-in) | grad+hess NumPy ms | grad+hess CuPy ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.framework} | {r.device} | {r.loss} | {r.rows:,} | {r.builtin_s:.2f} | "
                     f"{_ratio(r.numpy_s, r.builtin_s)} | {_ratio(r.cupy_s, r.builtin_s)} | "
                     f"{_ms(r.grad_numpy_ms)} | {_ms(r.grad_cupy_ms)} |")
    return "\n".join(lines)


def environment(cupy: Any) -> str:
    import lightgbm
    import xgboost

    gpu = "none"
    if cupy is not None:
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        gpu = name.decode() if isinstance(name, bytes) else str(name)
    return (f"GPU: {gpu}; Python {platform.python_version()}, XGBoost {xgboost.__version__}, "
            f"LightGBM {lightgbm.__version__}, NumPy {np.__version__}, "
            f"CuPy {getattr(cupy, '__version__', 'not installed')}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--leaves", type=int, default=63, help="LightGBM num_leaves")
    p.add_argument("--repeats", type=int, default=2, help="best of this many fits")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument("--losses", nargs="+", choices=list(LOSSES), default=list(LOSSES))
    p.add_argument("--frameworks", nargs="+", choices=("xgboost", "lightgbm"),
                   default=["xgboost", "lightgbm"])
    p.add_argument("--allow-cpu", action="store_true",
                   help="no GPU: run on the CPU as a smoke test (writes nothing unless --out)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"Markdown result file (default on a GPU: {DEFAULT_OUT.relative_to(ROOT)})")
    args = p.parse_args(argv)
    if min(args.rows) < 100 or args.rounds < 1 or args.repeats < 1 or args.features < 4:
        p.error("--rows >= 100, --rounds >= 1, --repeats >= 1 and --features >= 4 are required")
    return args


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    xgb_cuda, cp_cuda = xgboost_cuda(), cupy_cuda()
    cuda_line = f"XGBoost CUDA: {xgb_cuda[0] or '-'} ({xgb_cuda[1]}); CuPy CUDA: {cp_cuda[0] or '-'} ({cp_cuda[1]})"
    print(cuda_line)
    refusal = cuda_mismatch(xgb_cuda, cp_cuda)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        raise SystemExit(CUDA_MISMATCH_EXIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the probes' own fallback warnings: reported below
        xgb_device = resolve_device("cuda", "xgboost")
        cupy = gradient_namespace("cuda")
    if xgb_device != "cuda" and not args.allow_cpu:
        print("benchmarks/gpu.py needs a CUDA GPU that XGBoost can train on; none is usable here "
              "(no GPU, or a CPU-only XGBoost build). Nothing was measured. Run it on a GPU "
              "machine, or pass --allow-cpu for a CPU smoke run.", file=sys.stderr)
        raise SystemExit(NO_GPU_EXIT)
    if xgb_device == "cuda" and cupy is None:
        print("note: CuPy is not usable (pip install \".[gpu]\"): no CuPy column.", file=sys.stderr)
    device = xgb_device if xgb_device == "cuda" else "cpu"

    rows: list[Row] = []
    for n in args.rows:
        X, y = make_data(n, args.features)
        for loss in args.losses:
            if "xgboost" in args.frameworks:
                rows.append(bench_xgboost(X, y, loss, args, device, cupy))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
            if "lightgbm" in args.frameworks:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # OpenCL fallback: in the device column
                    rows.append(bench_lightgbm(X, y, loss, args, device))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        del X, y

    settings = (f"{args.features} float32 features, depth {args.depth} (LightGBM {args.leaves} leaves), "
                f"{args.rounds} rounds, eta 0.1, 256 bins, best of {args.repeats}; "
                "boostobj starts from obj.init_score(y)")
    report = "\n".join([
        "# GPU training time: built-in objective vs boostobj (NumPy / CuPy gradients)", "",
        "`" + " ".join(["python -m benchmarks.gpu", *(sys.argv[1:] if argv is None else argv)]) + "`",
        "", environment(cupy), "", cuda_line, "", settings, "", table(rows), "",
        f"Goal: boostobj with CuPy <= {GOAL}x the built-in (XGBoost). grad+hess: one objective "
        "call on all rows (host margin in, gradients out), best of 5.", ""])
    print()
    print(report)
    out = args.out if args.out is not None else (None if device == "cpu" else DEFAULT_OUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report)
        print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
