"""Dashboard read models: totals, open positions, cards, curve and filters, per owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Bot, Candle, ExchangeAccount, Trade
from core.views import dashboard as reports
from core.views import equity
from core.views import trades as trade_views
from tests.factories import make_user

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MS = 1000


def _ms(dt):
    return int(dt.timestamp() * MS)


@pytest.fixture
def world(rt):
    """Two users; alice has two bots with closed and open trades, bob has one trade."""
    with rt.session() as s:
        alice = make_user(s, username="alice", role="admin")
        bob = make_user(s, username="bob")
        acc_a = ExchangeAccount(owner_id=alice.id, label="paper", exchange_id="sim", kind="paper")
        acc_b = ExchangeAccount(owner_id=bob.id, label="paper", exchange_id="sim", kind="paper")
        s.add_all([acc_a, acc_b])
        s.flush()
        bots = [
            Bot(
                owner_id=alice.id,
                account_id=acc_a.id,
                name="one",
                symbol="BTC/USDT",
                timeframe="1m",
                strategy="sma_cross",
                status="running",
            ),
            Bot(
                owner_id=alice.id,
                account_id=acc_a.id,
                name="two",
                symbol="ETH/USDT",
                timeframe="1m",
                strategy="rsi",
                status="stopped",
            ),
            Bot(
                owner_id=bob.id,
                account_id=acc_b.id,
                name="bobs",
                symbol="BTC/USDT",
                timeframe="1m",
                strategy="sma_cross",
                status="running",
            ),
        ]
        s.add_all(bots)
        s.flush()
        one, two, bobs = bots

        def closed(bot, days_ago, pnl):
            t = _ms(NOW - timedelta(days=days_ago))
            return Trade(
                bot_id=bot.id,
                symbol=bot.symbol,
                status="closed",
                amount=1.0,
                entry_ts=t - 60_000,
                entry_price=100.0,
                entry_fee=0.1,
                exit_ts=t,
                exit_price=100 + pnl,
                exit_fee=0.1,
                exit_reason="signal",
                pnl=pnl,
            )

        s.add_all(
            [
                closed(one, 0, 10.0),  # today
                closed(one, 3, -4.0),  # this week
                closed(two, 30, 7.0),  # older
                Trade(
                    bot_id=two.id,
                    symbol="ETH/USDT",
                    status="open",
                    amount=2.0,
                    entry_ts=_ms(NOW),
                    entry_price=50.0,
                    entry_fee=0.1,
                ),
                closed(bobs, 0, 1000.0),
            ]
        )
        s.add(
            Candle(
                exchange="sim",
                symbol="ETH/USDT",
                timeframe="1m",
                ts=_ms(NOW),
                open=55,
                high=56,
                low=54,
                close=55.0,
                volume=1,
            )
        )
    return {"alice": alice, "bob": bob, "one": one, "two": two, "bobs": bobs}


def test_pnl_summary_buckets_by_exit_time_and_ignores_other_users(rt, world):
    with rt.read() as s:
        summary = reports.summarise(reports.bot_stats(s, owner=world["alice"], now=NOW))
    assert summary["pnl_today"] == pytest.approx(10.0)
    assert summary["pnl_7d"] == pytest.approx(6.0)
    assert summary["pnl_all"] == pytest.approx(13.0)
    assert summary["closed_trades"] == 3
    assert summary["win_rate_pct"] == pytest.approx(200 / 3)
    assert summary["fees"] == pytest.approx(0.6)


def test_open_positions_carry_unrealised_pnl_at_the_last_price(rt, world):
    with rt.read() as s:
        rows = reports.open_positions(s, owner=world["alice"])
    assert len(rows) == 1
    assert rows[0]["last_price"] == 55.0
    assert rows[0]["unrealised_pnl"] == pytest.approx((55 - 50) * 2 - 0.1)


def test_bot_cards_aggregate_per_bot(rt, world):
    with rt.read() as s:
        cards = {c["bot"].name: c for c in reports.bot_cards(s, owner=world["alice"])}
    assert set(cards) == {"one", "two"}
    assert cards["one"]["realised_pnl"] == pytest.approx(6.0)
    assert cards["two"]["open_lots"] == 1 and cards["two"]["trades"] == 2


def test_pnl_curve_is_cumulative(rt, world):
    with rt.read() as s:
        curve = equity.pnl_curves(s, owner=world["alice"])[equity.REALISED]
    steps = [round(v, 6) for _, v in curve]
    steps = [v for i, v in enumerate(steps) if i == 0 or v != steps[i - 1]]
    assert steps == [0.0, 7.0, 3.0, 13.0]  # from zero, each closed trade added once
    assert [t for t, _ in curve] == sorted(t for t, _ in curve)


def test_trade_filters_and_totals(rt, world):
    with rt.read() as s:
        wins, totals = trade_views.trade_list(
            s, owner=world["alice"], flt=trade_views.TradeFilter(outcome="win")
        )
        losses, _ = trade_views.trade_list(
            s, owner=world["alice"], flt=trade_views.TradeFilter(outcome="loss")
        )
        eth, _ = trade_views.trade_list(
            s, owner=world["alice"], flt=trade_views.TradeFilter(symbol="ETH/USDT")
        )
    assert {r["pnl"] for r in wins} == {10.0, 7.0} and totals["trades"] == 2
    assert [r["pnl"] for r in losses] == [-4.0]
    assert len(eth) == 2


def test_a_user_never_sees_another_users_trades(rt, world):
    with rt.read() as s:
        rows, totals = trade_views.trade_list(
            s, owner=world["alice"], flt=trade_views.TradeFilter(bot_id=world["bobs"].id)
        )
    assert rows == [] and totals["trades"] == 0


def test_csv_export_has_a_header_and_one_line_per_trade(rt, world):
    with rt.read() as s:
        rows, _ = trade_views.trade_list(s, owner=world["alice"], flt=trade_views.TradeFilter())
    text = trade_views.trades_csv(rows)
    lines = text.strip().splitlines()
    assert lines[0].startswith("Trade id,Bot,Exchange,Market,Status")
    assert len(lines) == 1 + len(rows)


def test_break_even_trades_are_neither_wins_nor_losses():
    def row(wins, losses, closed):
        zero = dict.fromkeys(("pnl_today", "pnl_7d", "realised_pnl", "fees"), 0.0)
        return zero | {"closed": closed, "wins": wins, "losses": losses}

    # 2 wins, 1 loss and 3 break-even trades: 2 of the 3 decided trades won.
    summary = reports.summarise([row(2, 0, 4), row(0, 1, 2)])
    assert summary["closed_trades"] == 6
    assert summary["win_rate_pct"] == pytest.approx(200 / 3)
    assert reports.summarise([row(0, 0, 2)])["win_rate_pct"] is None  # only break-even trades
