"""Helpers the experiment scripts share: argparse types, devices, figure saving, versions."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np

import boostobj
from boostobj.device import lightgbm_device_params, xgboost_device_params


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def float_in(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """argparse type: a finite number in the given interval."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(v) or v < low or v > high or (low_open and v == low) or (high_open and v == high):
            lb, hb = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"must be in {lb}{low:g}, {high:g}{hb}, got {text}")
        return v
    return parse


def device_params(backend: str, device: str) -> dict:
    """Estimator kwargs for ``device``, resolved (CPU fallback with one warning)."""
    if backend == "xgboost":
        return xgboost_device_params(device)
    return lightgbm_device_params(device)


def device_used(backend: str, device: str) -> str:
    """The device the backend really trains on, for the result tables."""
    params = device_params(backend, device)
    if backend == "xgboost":
        return str(params["device"])
    return "gpu (OpenCL)" if params["device_type"] == "gpu" else "cpu"


def save_figure(fig: plt.Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png (110 dpi) and ``stem``.pdf and close the figure."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def versions() -> dict[str, str]:
    """Versions of everything that shapes the numbers."""
    import lightgbm
    import xgboost

    return {"boostobj": boostobj.__version__, "xgboost": xgboost.__version__,
            "lightgbm": lightgbm.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}


def add_run_arguments(p: argparse.ArgumentParser, seeds: int, out: Path) -> None:
    """The options every experiment takes: --backend, --device, --seeds, --out, --quiet, --allow-failures."""
    p.add_argument("--backend", choices=("xgboost", "lightgbm", "both"), default="both",
                   help="framework(s) to run (default: %(default)s)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="training device; cuda falls back to the CPU with one warning when no GPU is "
                        "usable, and the tables record the device used (default: %(default)s)")
    p.add_argument("--seeds", type=positive_int, default=seeds,
                   help="number of seeds 0..N-1; tables give mean ± sd over them (default: %(default)s)")
    p.add_argument("--out", type=Path, default=out,
                   help="output folder for figures and tables (default: %(default)s/)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no table echo; the checks and the elapsed time are still "
                        "printed (default: off)")
    p.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when a check FAILs, for exploring settings; by default a failed "
                        "check makes the run exit with status 1")


def exit_status(checks: list, allow_failures: bool) -> int:
    """1 when a check failed (0 with ``allow_failures``), saying so on stderr; else 0."""
    failed = [c for c in checks if not c.passed]
    if not failed:
        return 0
    print(f"{len(failed)} of {len(checks)} checks FAILED"
          + (" (allowed by --allow-failures)" if allow_failures else "; exit status 1 "
             "(--allow-failures exits 0 when exploring settings)"), file=sys.stderr)
    return 0 if allow_failures else 1


def print_checks(devices: dict, checks: list) -> None:
    """The devices really used, then one line per PASS / FAIL check."""
    print("devices used: " + ", ".join(f"{b}={d}" for b, d in devices.items()))
    for c in checks:
        print(c.line())
