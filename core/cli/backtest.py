"""`python -m core.cli backtest`: a strategy over a CSV of candles, with the bots' rules."""

from __future__ import annotations

import argparse
import json

from core.backtest import run_backtest
from core.candles import load_candles_csv
from core.cli.commands import command, out
from core.errors import InvalidInput
from core.strategy import Risk


def add_commands(sub) -> None:
    p = sub.add_parser("backtest", help="backtest a strategy over a CSV of candles")
    p.add_argument("--strategy", required=True)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--csv",
        required=True,
        help="columns date/open/high/low/close[/volume] (date also datetime, time, timestamp, "
        "open_time, ts or unnamed first; text or epoch s/ms), or a Binance kline CSV",
    )
    p.add_argument("--fee", type=float, default=0.001, help="fee rate per side (0.001 = 0.1%%)")
    p.add_argument("--slippage-bps", type=float, default=0.0)
    p.add_argument("--cash", type=float, default=10_000.0)
    p.add_argument(
        "--order-quote", type=float, default=None, help="quote amount per entry (default: all cash)"
    )
    p.add_argument("--take-profit", type=float, default=None, help="take-profit %%")
    p.add_argument("--stop-loss", type=float, default=None, help="stop-loss %%")
    p.add_argument("--trailing-stop", type=float, default=None, help="trailing stop %%")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param needs KEY=VALUE, got {pair!r}.")
        params[key.strip()] = value.strip()
    return params


@command("backtest")
def cmd_backtest(args: argparse.Namespace) -> int:
    if not 0 <= args.fee < 0.1 or args.slippage_bps < 0 or args.cash <= 0:
        raise InvalidInput("--fee must be 0-0.1, --slippage-bps >= 0 and --cash > 0.")
    candles = load_candles_csv(args.csv)
    risk = Risk(
        take_profit_pct=args.take_profit,
        stop_loss_pct=args.stop_loss,
        trailing_stop_pct=args.trailing_stop,
    )
    result = run_backtest(
        candles,
        args.strategy,
        _params(args.param),
        risk=risk,
        fee_rate=args.fee,
        slippage_bps=args.slippage_bps,
        cash=args.cash,
        order_quote=args.order_quote,
    )
    trades = [
        {
            k: t[k]
            for k in (
                "entry_time",
                "exit_time",
                "entry_price",
                "exit_price",
                "amount",
                "pnl",
                "fees",
                "exit_reason",
            )
        }
        for t in result.trades
    ]
    if args.json:
        out(json.dumps({"trades": trades, "metrics": result.metrics}, default=float))
        return 0
    for name, value in result.metrics.items():
        out(f"{name:>24}: {value if value is not None else '-'}")
    out(f"{'entry':>14} {'exit':>14} {'amount':>12} {'pnl':>12} reason")
    for t in trades:
        out(
            f"{t['entry_time']:>14} {t['exit_time']:>14} {t['amount']:>12.6g} "
            f"{t['pnl']:>12.4f} {t['exit_reason']}"
        )
    return 0
