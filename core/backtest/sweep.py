"""Parameter sweeps: the same backtest over a grid of one or two strategy parameters.

Each axis is start/stop/step over one numeric parameter (stop included). The grid is capped
(`MAX_RUNS`); a combination the strategy refuses (e.g. fast >= slow) is skipped with its
reason instead of stopping the sweep. The candles are loaded once by the caller, and the signal
work is shared across combinations: each indicator of the candles is computed once per set of
its own arguments (`core.strategy.reuse_indicators`: SMA(20) once for every combination that
uses it), and no chart lines are computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import product

import pandas as pd

from core.backtest.service import BacktestSettings, LoadedCandles, Progress, run
from core.errors import InvalidInput
from core.platform.limits import GUEST_SWEEP_RUNS
from core.strategy import Candles, get_strategy, reuse_indicators

MAX_RUNS = 400
MAX_CANDLE_RUNS = 20_000_000  # runs x candles: about half a minute of backtesting
METRICS = (
    "total_return_pct",
    "cagr_pct",
    "max_drawdown_pct",
    "sharpe",
    "sortino",
    "win_rate_pct",
    "profit_factor",
    "exposure_pct",
    "num_trades",
    "buy_and_hold_return_pct",
    "final_equity",
)


@dataclass(frozen=True)
class SweepAxis:
    param: str
    start: float
    stop: float
    step: float


@dataclass
class SweepResult:
    params: list[str]  # the swept parameter names, in axis order
    table: pd.DataFrame  # one row per combination run: the parameters, then METRICS
    skipped: list[dict] = field(default_factory=list)  # {param: value, ..., "reason": str}


def axis_values(strategy_name: str, axis: SweepAxis) -> list[float | int]:
    """The values of one axis, checked against the parameter's type and bounds."""
    strategy = get_strategy(strategy_name)
    spec = next((p for p in strategy.params if p.name == axis.param), None)
    if spec is None or spec.type is bool:
        numeric = [p.name for p in strategy.params if p.type is not bool]
        raise InvalidInput(
            f"{axis.param!r} is not a numeric parameter of {strategy_name}: "
            f"choose one of {', '.join(numeric)}."
        )
    numbers = (axis.start, axis.stop, axis.step)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers):
        raise InvalidInput(f"The range of {axis.param!r} needs finite numbers.")
    if axis.step <= 0:
        raise InvalidInput(f"The step of {axis.param!r} must be above 0.")
    if axis.start > axis.stop:
        raise InvalidInput(f"The range of {axis.param!r} starts after it stops.")
    count = math.floor((axis.stop - axis.start) / axis.step + 1e-9) + 1
    if count > MAX_RUNS:
        raise InvalidInput(
            f"{axis.param!r} would take {count:,} values; at most {MAX_RUNS}: use a larger step."
        )
    values = [round(axis.start + i * axis.step, 10) for i in range(count)]
    if spec.type is int:
        values = sorted({int(round(v)) for v in values})
    for value in (values[0], values[-1]):
        spec.coerce(value)  # names the bounds when the range leaves them
    return values


def sweep_limit(user) -> int:
    """Backtests one sweep of `user` may run: fewer for a guest trader of the public demo."""
    return GUEST_SWEEP_RUNS if getattr(user, "is_guest", False) else MAX_RUNS


def sweep_grid(
    strategy_name: str, axes: list[SweepAxis], *, max_runs: int = MAX_RUNS
) -> list[dict]:
    """Every combination of the axes' values, as parameter dicts (at most `max_runs`)."""
    if not 1 <= len(axes) <= 2:
        raise InvalidInput("Sweep one or two parameters.")
    if len(axes) == 2 and axes[0].param == axes[1].param:
        raise InvalidInput("Pick two different parameters to sweep.")
    values = [axis_values(strategy_name, axis) for axis in axes]
    total = math.prod(len(v) for v in values)
    if total > max_runs:
        raise InvalidInput(
            f"The sweep would run {total:,} backtests; at most {max_runs}: "
            "use larger steps or narrower ranges."
        )
    names = [axis.param for axis in axes]
    return [dict(zip(names, combo, strict=True)) for combo in product(*values)]


def run_sweep(
    settings: BacktestSettings,
    loaded: LoadedCandles,
    axes: list[SweepAxis],
    *,
    progress: Progress | None = None,
    max_runs: int = MAX_RUNS,
) -> SweepResult:
    """Backtest every combination over the same candles; the table is sorted best return first.

    `settings` are already checked; the swept values replace its parameters one at a time.
    """
    grid = sweep_grid(settings.strategy, axes, max_runs=max_runs)
    if len(grid) * len(loaded.candles) > MAX_CANDLE_RUNS:
        raise InvalidInput(
            f"{len(grid)} backtests over {len(loaded.candles):,} candles is too much for one "
            f"sweep (at most {MAX_CANDLE_RUNS:,} candles in all): shorten the range, pick a "
            "larger timeframe or sweep fewer values."
        )
    names = [axis.param for axis in axes]
    strategy = get_strategy(settings.strategy)
    rows, skipped = [], []
    if progress is not None:
        progress(0, len(grid))
    columns = Candles.of(loaded.candles)
    with reuse_indicators(columns.open, columns.high, columns.low, columns.close, columns.volume):
        for done, combo in enumerate(grid, start=1):
            try:
                params = strategy.validate({**settings.params, **combo})
            except InvalidInput as exc:
                skipped.append({**combo, "reason": exc.message})
            else:
                outcome = run(replace(settings, params=params), loaded, chart=False)
                metrics = outcome.result.metrics
                rows.append({**combo, **{k: metrics.get(k) for k in METRICS}})
            if progress is not None:
                progress(done, len(grid))
    table = pd.DataFrame(rows, columns=[*names, *METRICS])
    if not table.empty:
        table = table.sort_values("total_return_pct", ascending=False, kind="stable")
        table = table.reset_index(drop=True)
    return SweepResult(params=names, table=table, skipped=skipped)


def settings_for_row(settings: BacktestSettings, result: SweepResult, row: int) -> BacktestSettings:
    """The settings of one row of a sweep's table (its parameters swapped in)."""
    if not 0 <= row < len(result.table):
        raise InvalidInput("That row is not in the sweep's results.")
    picked = result.table.iloc[row]
    strategy = get_strategy(settings.strategy)
    kinds = {p.name: p.type for p in strategy.params}
    combo = {name: kinds[name](picked[name]) for name in result.params}
    return replace(settings, params=strategy.validate({**settings.params, **combo}))
