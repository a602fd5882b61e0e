"""The strategy interface: candles in, signals out, parameters declared.

A strategy's `compute(candles, params)` gets the whole candle frame as a `Candles`: five float
arrays of one length, oldest first (`open`, `high`, `low`, `close`, `volume`), and its validated
parameters. It returns `(indicators, entry, exit)`: a dict of named arrays to draw on the chart
and two boolean arrays, each decided on its candle's close. It never touches a database or an
exchange. `compute` is the one implementation; the three ways in are:

* `signals(df, params)`: a backtest. `df` is a candle DataFrame (columns ts, open, high, low,
  close, volume); `entry` / `exit` columns are added, False during the warm-up.
* `indicators(df, params)`: the chart's lines, as Series on `df`'s index.
* `last_signal(candles, params)`: a bot tick (the hot path): entry / exit on the last candle of
  the `window(params)` candles it read.

`mode` tells the trading rules (core.strategy.risk) how positions are built: "signal" (one
entry/exit per signal), "dca" (safety orders and take-profit on the average entry) or "grid"
(one lot per grid level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InvalidInput

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Candles:
    """The candle frame a strategy computes on: float arrays of one length, oldest first."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, frame) -> Candles:
        """From anything indexed by column name: a candle DataFrame or a dict of arrays."""
        return cls(*(np.asarray(frame[c], dtype=float) for c in COLUMNS))

    def __len__(self) -> int:
        return len(self.close)

    def __getitem__(self, rows: slice) -> Candles:
        """The candles in a slice of rows (views, no copy): `candles[-window:]`."""
        return Candles(*(getattr(self, c)[rows] for c in COLUMNS))


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # int | float | bool
    default: float | int | bool
    min: float | None = None
    max: float | None = None
    help: str = ""
    step: float | None = None
    title: str = ""  # what a trader calls it ("Fast average"); forms and messages use it

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    def coerce(self, value: object) -> float | int | bool:
        if self.type is bool:
            if isinstance(value, bool):
                return value
            raise InvalidInput(f"{self.label} must be on or off.")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInput(f"{self.label} must be a number.")
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"{self.label} must be a number.") from None
        if not math.isfinite(number):
            raise InvalidInput(f"{self.label} must be a finite number.")
        if self.type is int:
            if number != int(number):
                raise InvalidInput(f"{self.label} must be a whole number.")
            number = int(number)
        lo = -math.inf if self.min is None else self.min
        hi = math.inf if self.max is None else self.max
        if not lo <= number <= hi:
            raise InvalidInput(f"{self.label} must be between {_plain(lo)} and {_plain(hi)}.")
        return number


def _plain(number: float) -> str:
    """1000000000 as "1,000,000,000", 0.05 as "0.05"."""
    if math.isfinite(number) and number == int(number):
        return f"{int(number):,}"
    return f"{number:g}"


class Strategy:
    """Base class: subclasses set the class attributes and implement `compute`."""

    name: str = ""
    title: str = ""
    description: str = ""
    mode: str = "signal"
    params: tuple[Param, ...] = ()
    # Bot risk settings (BotSpec field names) the trading rules never use for this strategy:
    # forms hide them and core.bots refuses them when set.
    ignores: tuple[str, ...] = ()

    def validate(self, raw: dict | None) -> dict:
        """Defaults filled, types coerced, bounds and cross-field rules checked (the first
        problem raised as InvalidInput)."""
        values, problems = self.problems(raw)
        if problems:
            raise InvalidInput(problems[0][1])
        return values

    def problems(self, raw: dict | None) -> tuple[dict, list[tuple[str, str]]]:
        """Every problem at once: (the values that are valid, [(parameter name, message)]).
        An unknown parameter is reported under the name "" (the parameters as a whole)."""
        raw = dict(raw or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(raw) - known, key=str)
        found: list[tuple[str, str]] = []
        if unknown:
            found.append(
                (
                    "",
                    f"Unknown parameter(s) for {self.name}: {', '.join(map(str, unknown))}. "
                    f"Known: {', '.join(sorted(known))}.",
                )
            )
        values = {}
        for p in self.params:
            try:
                values[p.name] = p.coerce(raw.get(p.name, p.default))
            except InvalidInput as exc:
                found.append((p.name, exc.message))
        if len(values) == len(self.params):
            found.extend(self.relations(values))
        return values, found

    def relations(self, params: dict) -> list[tuple[str, str]]:
        """Cross-field rules broken (e.g. fast < slow): (the parameter to fix, message) each."""
        return []

    def check(self, params: dict) -> None:
        """Raise InvalidInput for the first cross-field rule broken."""
        broken = self.relations(params)
        if broken:
            raise InvalidInput(broken[0][1])

    def warmup(self, params: dict) -> int:
        """Candles needed before the signals mean anything."""
        return 1

    def window(self, params: dict) -> int:
        """Candles a bot tick reads so that its last signal equals the signal computed over
        the whole history (what a backtest sees). Recursive indicators (EMAs, Wilder's
        averages) need more than their warm-up: see Macd and RsiReversion."""
        return self.warmup(params) + 2

    def compute(self, candles: Candles, params: dict) -> tuple[dict, np.ndarray, np.ndarray]:
        """(indicators, entry, exit) arrays over `candles` — the one implementation."""
        raise NotImplementedError

    def signals(self, df: pd.DataFrame, params: dict) -> pd.DataFrame:
        candles = Candles.of(df)
        _ind, entry, exit_ = self.compute(candles, params)
        warm = min(len(candles), self.warmup(params))
        entry[:warm] = False
        exit_[:warm] = False
        out = df.copy()
        out["entry"], out["exit"] = entry, exit_
        return out

    def indicators(self, df: pd.DataFrame, params: dict) -> dict[str, pd.Series]:
        ind, _e, _x = self.compute(Candles.of(df), params)
        return {k: pd.Series(v, index=df.index) for k, v in ind.items()}

    def last_signal(self, candles: Candles, params: dict) -> tuple[bool, bool]:
        """Entry/exit decided on the last close of a short window (the bot tick's hot path)."""
        if len(candles) < self.warmup(params) + 1:
            return False, False
        _ind, entry, exit_ = self.compute(candles, params)
        return bool(entry[-1]), bool(exit_[-1])
