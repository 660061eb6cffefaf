"""Prediction intervals: coverage, multi- vs separate-quantile models, a plot.

Three measurements, printed as Markdown and written to
``benchmarks/results/intervals/intervals.md`` (plus the figure
``experiments/figures/intervals_heteroscedastic.png``):

1. **Coverage** of the 90% interval of ``boostobj.IntervalRegressor``, raw
   (quantiles trained on all rows) and conformal (CQR on a calibration
   split), on both backends and two datasets: scikit-learn's heteroscedastic
   example (y = x sin x + lognormal noise whose sigma grows with x; fresh test
   draws) and the bundled diabetes data (random 70/30 splits). Means over
   seeds, with mean width and interval (Winkler) score.
2. **One multi-quantile booster vs K separate boosters**: test pinball loss
   (sum over the K levels) and fit time, K = 3 (the interval) and K = 9
   (deciles), both backends.
3. **The figure**: raw and conformal intervals on the heteroscedastic data.
4. **Against MAPIE** (``--mapie``, needs the ``dev`` extra): width and
   coverage of the conformal 90% interval of ``IntervalRegressor`` vs
   MAPIE's ``ConformalizedQuantileRegressor`` around LightGBM's built-in
   ``quantile`` and around boostobj drop-ins (``prefit=True``: MAPIE 1.6
   checks the base model's objective by name, so it only takes our models
   already fitted). Every method gets the same rows to fit and to calibrate
   (half each) and the same boosting settings.

Every model runs on one thread (``n_jobs=1``): the machine has 2 shared
cores, and one thread makes the timings comparable. Timings are the best of
``--repeats`` fits. Run ``python -m benchmarks.intervals --help`` for the
settings; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import boostobj
from boostobj.intervals import IntervalRegressor, coverage, interval_score, mean_width
from boostobj.sklearn import LGBMRegressor, XGBRegressor

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("xgboost", "lightgbm")
COVERAGE = 0.9
ONE_THREAD = {"n_jobs": 1}
NOISE_FEATURES = 19  # the timing data: x plus 19 irrelevant features


@dataclass
class Config:
    seeds_hetero: int = 10
    seeds_diabetes: int = 40
    n_hetero: int = 2000          # rows to fit on (half of them calibrate in the conformal model)
    n_hetero_test: int = 10000
    calibration_size: float = 0.5
    n_estimators: int = 200
    learning_rate: float = 0.1
    max_depth: int = 3
    n_timing: tuple = (2000, 20000)  # training rows for the multi- vs separate-model comparison
    repeats: int = 3


def heteroscedastic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's "Prediction Intervals for Gradient Boosting Regression" data."""
    x = rng.uniform(0.0, 10.0, n)
    sigma = 0.5 + x / 10.0
    noise = rng.lognormal(sigma=sigma) - np.exp(sigma ** 2 / 2.0)
    return x[:, None], x * np.sin(x) + noise


def _splits(dataset: str, cfg: Config):
    if dataset == "heteroscedastic":
        for seed in range(cfg.seeds_hetero):
            rng = np.random.default_rng(seed)
            yield seed, (*heteroscedastic(cfg.n_hetero, rng), *heteroscedastic(cfg.n_hetero_test, rng))
    else:
        from sklearn.datasets import load_diabetes
        from sklearn.model_selection import train_test_split

        X, y = load_diabetes(return_X_y=True)
        for seed in range(cfg.seeds_diabetes):
            Xa, Xt, ya, yt = train_test_split(X, y, test_size=0.3, random_state=seed)
            yield seed, (Xa, ya, Xt, yt)


def interval_model(backend: str, conformal: bool, seed: int, cfg: Config) -> IntervalRegressor:
    return IntervalRegressor(backend=backend, coverage=COVERAGE, conformal=conformal,
                             calibration_size=cfg.calibration_size, n_estimators=cfg.n_estimators,
                             learning_rate=cfg.learning_rate, max_depth=cfg.max_depth,
                             random_state=seed, params=ONE_THREAD)


def coverage_table(cfg: Config) -> list[dict]:
    rows = []
    for dataset in ("heteroscedastic", "diabetes"):
        for backend in BACKENDS:
            for conformal in (False, True):
                cov, width, score = [], [], []
                for seed, (X, y, Xt, yt) in _splits(dataset, cfg):
                    iv = interval_model(backend, conformal, seed, cfg).fit(X, y).predict_interval(Xt)
                    cov.append(coverage(yt, iv))
                    width.append(mean_width(iv))
                    score.append(interval_score(yt, iv, 1.0 - COVERAGE))
                rows.append(dict(dataset=dataset, backend=backend,
                                 interval="conformal" if conformal else "raw", seeds=len(cov),
                                 coverage=float(np.mean(cov)), coverage_se=float(np.std(cov, ddof=1) / np.sqrt(len(cov))),
                                 width=float(np.mean(width)), score=float(np.mean(score))))
    return rows


def _pinball_sum(y: np.ndarray, q: np.ndarray, alphas) -> float:
    return boostobj.quantile(list(alphas)).loss(y, np.asarray(q, dtype=np.float64))


def _fit_seconds(model, X, y) -> float:
    t = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t


def multi_vs_separate(cfg: Config) -> list[dict]:
    return [row for n in cfg.n_timing for row in _multi_vs_separate(cfg, n)]


def _multi_vs_separate(cfg: Config, n: int) -> list[dict]:
    rng = np.random.default_rng(123)
    X, y = heteroscedastic(n, rng)
    X = np.column_stack([X, rng.normal(size=(n, NOISE_FEATURES))])
    Xt, yt = heteroscedastic(20000, rng)
    Xt = np.column_stack([Xt, rng.normal(size=(20000, NOISE_FEATURES))])
    rows = []
    for alphas in ((0.05, 0.5, 0.95), tuple(np.round(np.arange(0.1, 0.91, 0.1), 2))):
        for backend, cls in (("xgboost", XGBRegressor), ("lightgbm", LGBMRegressor)):
            extra = {"verbose": -1, "num_leaves": 2 ** cfg.max_depth} if cls is LGBMRegressor else {}
            kw = dict(n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate,
                      max_depth=cfg.max_depth, n_jobs=1, **extra)
            # interleaved repeats, best of each: the shared machine's noise hits both alike
            t_multi, t_sep = [], []
            for _ in range(cfg.repeats):
                multi = cls(objective=boostobj.quantile(list(alphas)), **kw)
                t_multi.append(_fit_seconds(multi, X, y))
                singles = [cls(objective=boostobj.quantile(float(a)), **kw) for a in alphas]
                t_sep.append(sum(_fit_seconds(m, X, y) for m in singles))
            separate = np.column_stack([m.predict(Xt) for m in singles])
            rows.append(dict(backend=backend, k=len(alphas), n=n,
                             pinball_multi=_pinball_sum(yt, multi.predict(Xt), alphas),
                             pinball_separate=_pinball_sum(yt, separate, alphas),
                             pinball_separate_sorted=_pinball_sum(yt, np.sort(separate, axis=1), alphas),
                             crossing_separate=float(np.mean(np.any(np.diff(separate, axis=1) < 0, axis=1))),
                             time_multi=min(t_multi), time_separate=min(t_sep)))
    return rows


def _mapie_splits(dataset: str, seeds: int):
    """(fit, calibration, test) rows: heteroscedastic 1000 + 1000 + 10000 fresh rows;
    diabetes: a random 70/30 split, the 70% cut in half."""
    from sklearn.model_selection import train_test_split

    for seed, (X, y, Xt, yt) in _splits(dataset, Config(seeds_hetero=seeds, seeds_diabetes=seeds)):
        Xf, Xc, yf, yc = train_test_split(X, y, test_size=0.5, random_state=seed)
        yield seed, (Xf, yf, Xc, yc, Xt, yt)


def mapie_table(cfg: Config, seeds_hetero: int, seeds_diabetes: int) -> list[dict]:
    """Conformal 90% intervals: IntervalRegressor vs MAPIE CQR (LightGBM built-in; boostobj prefit)."""
    import lightgbm as lgb
    from mapie.regression import ConformalizedQuantileRegressor

    lo, hi = (1.0 - COVERAGE) / 2.0, (1.0 + COVERAGE) / 2.0
    lgb_kw = dict(n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate, max_depth=cfg.max_depth,
                  num_leaves=2 ** cfg.max_depth, n_jobs=1, verbose=-1)
    xgb_kw = dict(n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate, max_depth=cfg.max_depth,
                  n_jobs=1)

    def mapie_prefit(cls, kw, Xf, yf, Xc, yc, seed):
        models = [cls(objective=boostobj.quantile(a), random_state=seed, **kw).fit(Xf, yf)
                  for a in (lo, hi, 0.5)]  # MAPIE's order: lower, upper, median
        return ConformalizedQuantileRegressor(models, confidence_level=COVERAGE, prefit=True).conformalize(Xc, yc)

    methods = {
        "MAPIE CQR + LightGBM built-in quantile": lambda Xf, yf, Xc, yc, seed: ConformalizedQuantileRegressor(
            lgb.LGBMRegressor(objective="quantile", alpha=0.5, random_state=seed, **lgb_kw),
            confidence_level=COVERAGE).fit(Xf, yf).conformalize(Xc, yc),
        "MAPIE CQR + boostobj LGBMRegressor (prefit)": lambda *a: mapie_prefit(LGBMRegressor, lgb_kw, *a),
        "MAPIE CQR + boostobj XGBRegressor (prefit)": lambda *a: mapie_prefit(XGBRegressor, xgb_kw, *a),
    }
    rows = []
    for dataset, seeds in (("heteroscedastic", seeds_hetero), ("diabetes", seeds_diabetes)):
        results: dict[str, list] = {}
        for seed, (Xf, yf, Xc, yc, Xt, yt) in _mapie_splits(dataset, seeds):
            for name, make in methods.items():
                _, iv = make(Xf, yf, Xc, yc, seed).predict_interval(Xt)
                results.setdefault(name, []).append(iv[:, :, 0])
            for backend in BACKENDS:
                # the same rows: fit on fit + calibration, calibration_size 0.5
                model = interval_model(backend, True, seed, cfg)
                X, y = np.concatenate([Xf, Xc]), np.concatenate([yf, yc])
                results.setdefault(f"boostobj IntervalRegressor ({backend})", []).append(
                    model.fit(X, y).predict_interval(Xt))
            results.setdefault("_y", []).append(yt)
        ys = results.pop("_y")
        for name, ivs in results.items():
            cov = [coverage(y, iv) for y, iv in zip(ys, ivs)]
            rows.append(dict(dataset=dataset, method=name, seeds=len(cov), coverage=float(np.mean(cov)),
                             coverage_se=float(np.std(cov, ddof=1) / np.sqrt(len(cov))),
                             width=float(np.mean([mean_width(iv) for iv in ivs])),
                             score=float(np.mean([interval_score(y, iv, 1.0 - COVERAGE)
                                                  for y, iv in zip(ys, ivs)]))))
    return rows


def mapie_markdown(cfg: Config, rows: list[dict], seconds: float) -> str:
    import mapie

    lines = ["# Conformal 90% intervals: boostobj vs MAPIE", "",
             f"Generated by `python -m benchmarks.intervals --mapie` in {seconds:.0f} s on "
             f"{platform.machine()} / Python {platform.python_version()}, MAPIE {mapie.__version__}. "
             f"Every model: {cfg.n_estimators} rounds, learning rate {cfg.learning_rate}, depth {cfg.max_depth} "
             "(LightGBM: 2**depth leaves), one thread. Heteroscedastic: 1000 rows fit, 1000 calibrate, "
             "10000 fresh test rows. Diabetes: random 70/30 splits, the 70% half fit, half calibrate. "
             "MAPIE's CQR trains the quantiles 0.05 / 0.95 / 0.5; with boostobj models it takes them "
             "fitted (`prefit=True`). `IntervalRegressor(conformal=True, calibration_size=0.5)` gets "
             "the same rows (its own random half for calibration) and trains one 3-quantile booster. "
             "Means over seeds; width: mean interval width; score: interval (Winkler) score.", "",
             "| data | method | seeds | coverage (± s.e.) | mean width | interval score |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['method']} | {r['seeds']} | {r['coverage']:.3f} ± {r['coverage_se']:.3f} "
                     f"| {r['width']:.2f} | {r['score']:.2f} |")
    return "\n".join(lines) + "\n"


def plot(cfg: Config, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    X, y = heteroscedastic(cfg.n_hetero, rng)
    Xt, yt = heteroscedastic(cfg.n_hetero_test, rng)
    grid = np.linspace(0.0, 10.0, 400)[:, None]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.scatter(X[:, 0], y, s=4, color="0.6", alpha=0.5, label="training data")
    ax.plot(grid[:, 0], grid[:, 0] * np.sin(grid[:, 0]), color="k", lw=1, label="x sin x")
    for conformal, color in ((False, "tab:orange"), (True, "tab:blue")):
        model = interval_model("lightgbm", conformal, 0, cfg).fit(X, y)
        iv = model.predict_interval(grid)
        cov = coverage(yt, model.predict_interval(Xt))
        name = "conformal (CQR)" if conformal else "raw quantiles"
        if conformal:
            ax.fill_between(grid[:, 0], iv[:, 0], iv[:, 1], color=color, alpha=0.25,
                            label=f"{name}: test coverage {cov:.3f}")
            ax.plot(grid[:, 0], model.predict(grid), color=color, lw=1, label="median")
        else:
            ax.plot(grid[:, 0], iv[:, 0], color=color, lw=1, ls="--", label=f"{name}: test coverage {cov:.3f}")
            ax.plot(grid[:, 0], iv[:, 1], color=color, lw=1, ls="--")
    ax.set(xlabel="x", ylabel="y", ylim=(-10, 25),
           title="90% interval, boostobj.IntervalRegressor (LightGBM, one 0.05/0.5/0.95 booster)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(cfg: Config, cov_rows: list[dict], mq_rows: list[dict], seconds: float) -> str:
    lines = ["# Prediction intervals: coverage, and one multi-quantile booster vs separate ones", "",
             f"Model: {cfg.n_estimators} rounds, learning rate {cfg.learning_rate}, depth {cfg.max_depth} "
             "(LightGBM: 2**depth leaves), one thread. Generated by `python -m benchmarks.intervals` "
             f"in {seconds:.0f} s on {platform.machine()} / Python {platform.python_version()}.", "",
             "## Coverage of the 90% interval", "",
             f"Heteroscedastic: {cfg.n_hetero} rows to fit, {cfg.n_hetero_test} fresh test rows, "
             f"{cfg.seeds_hetero} seeds. Diabetes (442 rows): random 70/30 splits, {cfg.seeds_diabetes} seeds. "
             f"Conformal: {cfg.calibration_size:.0%} of the fitting rows calibrate. "
             "Raw: the same three quantiles trained on all fitting rows. "
             "Score: interval (Winkler) score, lower is better.", "",
             "| data | backend | interval | coverage (± s.e.) | mean width | interval score |",
             "|---|---|---|---|---|---|"]
    for r in cov_rows:
        lines.append(f"| {r['dataset']} | {r['backend']} | {r['interval']} | "
                     f"{r['coverage']:.3f} ± {r['coverage_se']:.3f} | {r['width']:.2f} | {r['score']:.2f} |")
    lines += ["", "## One K-output booster vs K single-quantile boosters", "",
              f"Heteroscedastic data with {NOISE_FEATURES} extra noise features, n training rows, "
              "20000 test rows. Pinball: test loss summed over the K levels (separate models as they "
              "come, and sorted per row). Time: best of "
              f"{cfg.repeats} interleaved repeats, one thread; K models = sum of the K fits.", "",
              "| n | backend | K | pinball, one model | pinball, K models | K models sorted "
              "| rows where K models cross | fit s, one model | fit s, K models | speed-up |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in mq_rows:
        lines.append(f"| {r['n']} | {r['backend']} | {r['k']} | {r['pinball_multi']:.4f} | {r['pinball_separate']:.4f} | "
                     f"{r['pinball_separate_sorted']:.4f} | {r['crossing_separate']:.1%} | "
                     f"{r['time_multi']:.2f} | {r['time_separate']:.2f} | "
                     f"{r['time_separate'] / r['time_multi']:.1f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: few seeds, small data")
    p.add_argument("--seeds-hetero", type=int, default=Config.seeds_hetero)
    p.add_argument("--seeds-diabetes", type=int, default=Config.seeds_diabetes)
    p.add_argument("--n-estimators", type=int, default=Config.n_estimators)
    p.add_argument("--repeats", type=int, default=Config.repeats)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "intervals" / "intervals.md")
    p.add_argument("--figure", type=Path, default=ROOT / "experiments" / "figures" / "intervals_heteroscedastic.png")
    p.add_argument("--mapie", action="store_true",
                   help="only the comparison with MAPIE (writes benchmarks/results/intervals/intervals_mapie.md)")
    a = p.parse_args(argv)
    cfg = Config(seeds_hetero=a.seeds_hetero, seeds_diabetes=a.seeds_diabetes, n_estimators=a.n_estimators,
                 repeats=a.repeats)
    if a.quick:
        cfg = Config(seeds_hetero=2, seeds_diabetes=3, n_hetero=600, n_hetero_test=2000, n_estimators=30,
                     n_timing=(1000,), repeats=1)
    t0 = time.perf_counter()
    if a.mapie:
        rows = mapie_table(cfg, cfg.seeds_hetero, cfg.seeds_diabetes)
        text = mapie_markdown(cfg, rows, time.perf_counter() - t0)
        print(text)
        out = a.out.with_name("intervals_mapie.md") if not a.quick else Path("/dev/null")
        out.write_text(text)
        return
    cov_rows = coverage_table(cfg)
    mq_rows = multi_vs_separate(cfg)
    plot(cfg, a.figure)
    text = markdown(cfg, cov_rows, mq_rows, time.perf_counter() - t0)
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(f"wrote {a.out} and {a.figure}")


if __name__ == "__main__":
    main()
