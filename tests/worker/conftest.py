"""Worker fixtures: running bots in bulk (rows only: the tick body is injected where needed)."""

from __future__ import annotations

from core.models import Bot, ExchangeAccount, User


def make_running_bots(rt, n: int, *, timeframe: str = "1m") -> list[int]:
    with rt.session() as s:
        user = User(username="owner", email="o@x.io", name="O", password_hash="x")
        s.add(user)
        s.flush()
        acc = ExchangeAccount(owner_id=user.id, label="paper", exchange_id="sim", kind="paper")
        s.add(acc)
        s.flush()
        bots = [
            Bot(
                owner_id=user.id,
                account_id=acc.id,
                name=f"b{i}",
                symbol="BTC/USDT",
                timeframe=timeframe,
                strategy="sma_cross",
                status="running",
            )
            for i in range(n)
        ]
        s.add_all(bots)
        s.flush()
        return [b.id for b in bots]
