"""Builders for the rows most tests start from: people, paper accounts, bots.

Keyword-only and small; each returns what it made. The session-level builders take the caller's
session, so a fixture builds its whole world in one transaction; they go through the real
services (core.users, core.exchanges.open_paper_account, core.bots) and so refuse what those
refuse. The exceptions say so: `make_user` without a password, and `make_running_bots`.
"""

from __future__ import annotations

from sqlmodel import Session

from core import bots, users
from core.exchanges import SIM, market_feed, open_paper_account
from core.models import Bot, ExchangeAccount, User
from core.platform.runtime import Runtime
from core.trading import market_lookup

GOOD_PASSWORD = "Correct-Horse-9"


def make_user(
    session: Session,
    *,
    username: str = "alice",
    role: str = "trader",
    password: str | None = None,
    email: str | None = None,
    name: str | None = None,
) -> User:
    """A person. With a `password`: through users.create_user (checked, bcrypt-hashed, audited;
    about 0.3 s). Without one: a bare row whose hash matches no password (no bcrypt, no audit
    entry), for the many tests that never sign in."""
    email = email or f"{username}@x.io"
    name = name or username.title()
    if password is not None:
        return users.create_user(
            session, username=username, email=email, name=name, password=password, role=role
        )
    user = User(username=username, email=email, name=name, password_hash="x", role=role)
    session.add(user)
    session.flush()
    return user


def make_paper_account(
    session: Session,
    *,
    owner: User,
    label: str = "paper",
    balances: dict[str, float] | None = None,
    feed: str = SIM,
) -> ExchangeAccount:
    """A paper account through core.exchanges.open_paper_account (default 10,000 USDT)."""
    return open_paper_account(session, owner_id=owner.id, label=label, feed=feed, balances=balances)


def sim_markets(account: ExchangeAccount):
    """core.bots' market lookup for accounts on the sim feed: no network, no settings."""
    if account.exchange_id != SIM:
        raise AssertionError(
            f"account {account.label!r} is on {account.exchange_id!r}: pass "
            "markets=core.trading.market_lookup(rt) to make_bot"
        )
    return market_feed(SIM).load_markets()


def make_bot(
    session: Session,
    *,
    owner: User,
    account_id: int,
    name: str = "b1",
    symbol: str = "BTC/USDT",
    timeframe: str = "1m",
    strategy: str = "sma_cross",
    params: dict | None = None,
    order_size: float = 100.0,
    start: bool = False,
    markets=sim_markets,
    **limits,
) -> Bot:
    """A bot through core.bots.create_bot (stopped), started when `start`. `limits` are the
    other BotSpec fields (order_size_type, take_profit_pct, stop_loss_pct, ...). `markets` is
    core.bots' lookup: the sim feed's by default, `core.trading.market_lookup(rt)` otherwise."""
    spec = bots.BotSpec(
        name=name,
        account_id=account_id,
        symbol=symbol,
        timeframe=timeframe,
        strategy=strategy,
        params={} if params is None else params,
        order_size=order_size,
        **limits,
    )
    bot = bots.create_bot(session, owner=owner, spec=spec, markets=markets)
    if start:
        bots.change_status(session, owner=owner, bot_id=bot.id, action="start")
    return bot


def two_users_and_a_bot(rt: Runtime, *, running: bool = False, **spec) -> dict:
    """alice (admin) and bob (trader), both signed up with GOOD_PASSWORD; bob has a paper
    account and one bot, "bobs-bot" (SMA 3/8 on BTC/USDT 1m unless `spec` says otherwise).
    Returns rt, alice, bob, acc and bot."""
    with rt.session() as s:
        alice = make_user(s, username="alice", role="admin", password=GOOD_PASSWORD)
        bob = make_user(s, username="bob", password=GOOD_PASSWORD)
        acc = make_paper_account(s, owner=bob)
        fields = {"name": "bobs-bot", "params": {"fast": 3, "slow": 8}} | spec
        bot = make_bot(
            s, owner=bob, account_id=acc.id, start=running, markets=market_lookup(rt), **fields
        )
    return {"rt": rt, "alice": alice, "bob": bob, "bot": bot, "acc": acc}


def make_running_bots(rt: Runtime, n: int, *, timeframe: str = "1m") -> list[int]:
    """`n` bots marked running on one paper account, as bare rows (no service, no balances):
    for scheduler and queue tests that inject the tick body. Returns their ids."""
    with rt.session() as s:
        user = make_user(s, username="owner")
        acc = ExchangeAccount(owner_id=user.id, label="paper", exchange_id=SIM, kind="paper")
        s.add(acc)
        s.flush()
        rows = [
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
        s.add_all(rows)
        s.flush()
        return [b.id for b in rows]
