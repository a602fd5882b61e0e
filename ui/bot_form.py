"""The bot form, generated from the strategy's parameter schema.

Not an `st.form`: every choice reruns the page, so the form shows the chosen market's current
price, a grid range that does not contain it, and an order size above what a live account
holds while the trader fills it in. After the first submit every problem core finds
(`core.bots.spec_problems`) is shown at once under its field, and kept up to date as fields
change; so is a grid whose range does not contain the current price, until the trader ticks
that they mean it. Number fields carry no bounds of their own: an out-of-range value is
submitted and refused with a message, never silently held back by the widget."""

from __future__ import annotations

import time
from collections.abc import Callable
from copy import deepcopy

import streamlit as st

from core import accounts as account_svc
from core import bots, trading, views
from core.bots import BotSpec
from core.errors import AppError
from core.exchanges import TIMEFRAMES, step_decimals
from core.strategy import grid_price_note, list_strategies

PRICE_TTL_S = 30  # the current price shown on the form, re-asked after this
BALANCE_TTL_S = 60  # a live account's balance, re-asked after this
OUTSIDE_OK = "Trade this range anyway"  # a grid whose range does not contain the price
RISK_DEFAULTS = {
    "take_profit_pct": None,
    "stop_loss_pct": None,
    "trailing_stop_pct": None,
    "max_drawdown_pct": None,
    "max_open_positions": 1,
    "cooldown_minutes": 0,
}

Slots = dict[str, object]  # field -> st.empty() placeholder under its widget


def _slot(slots: Slots | None, field: str) -> None:
    if slots is not None:
        slots[field] = st.empty()


def param_inputs(
    strategy,
    key: str,
    initial: dict | None = None,
    *,
    bounded: bool = True,
    slots: Slots | None = None,
) -> dict:
    """One widget per declared parameter; `initial` values replace the defaults. Switching to
    another strategy under the same `key` starts its fields from their defaults (a MACD never
    inherits an SMA's "fast"). `bounded=False` leaves the bounds to validation (the bot form);
    `slots` gets a placeholder under each field, "params.<name>"."""
    last = f"{key}params_of"
    if st.session_state.get(last) not in (None, strategy.name):
        for other in list_strategies():
            for p in other.params:
                st.session_state.pop(f"{key}{p.name}", None)
    st.session_state[last] = strategy.name
    values = {}
    start = {p.name: p.default for p in strategy.params} | (initial or {})
    for p in strategy.params:
        label, wkey = p.label, f"{key}{p.name}"
        if p.type is bool:
            values[p.name] = st.checkbox(label, value=bool(start[p.name]), help=p.help, key=wkey)
        elif p.type is int:
            values[p.name] = st.number_input(
                label,
                min_value=int(p.min) if bounded and p.min is not None else None,
                max_value=int(p.max) if bounded and p.max is not None else None,
                value=int(start[p.name]),
                step=1,
                help=p.help,
                key=wkey,
            )
        else:
            values[p.name] = st.number_input(
                label,
                min_value=float(p.min) if bounded and p.min is not None else None,
                max_value=float(p.max) if bounded and p.max is not None else None,
                value=float(start[p.name]),
                help=p.help,
                key=wkey,
                format="%g",
            )
        _slot(slots, f"params.{p.name}")
    return values


def strategy_picker(key: str, initial: str | None = None):
    strategies = list_strategies()
    names = [s.name for s in strategies]
    chosen = st.selectbox(
        "Strategy",
        strategies,
        index=names.index(initial) if initial in names else 0,
        format_func=lambda s: s.title,
        key=f"{key}strategy",
    )
    st.caption(chosen.description)
    return chosen


def optional_pct(
    label: str,
    help_text: str,
    key: str,
    initial: float | None = None,
    *,
    bounded: bool = True,
) -> float | None:
    value = st.number_input(
        f"{label} (0 = off)",
        min_value=0.0 if bounded else None,
        max_value=1000.0 if bounded else None,
        value=float(initial or 0.0),
        help=help_text,
        key=key,
        format="%g",
    )
    return value or None


def risk_inputs(
    key: str,
    init: dict | None = None,
    *,
    strategy=None,
    bounded: bool = True,
    slots: Slots | None = None,
) -> dict:
    """The risk-limit widgets of a bot (and of a backtest, which applies the same rules).
    With `strategy`, the settings its rules never use (`Strategy.ignores`) are not shown and
    keep their "off" value."""
    init = init or {}
    hidden = set(getattr(strategy, "ignores", ()))
    values = dict(RISK_DEFAULTS)
    pcts = {
        "take_profit_pct": ("Take-profit %", "Sell a position this % above its entry", "tp"),
        "stop_loss_pct": ("Stop-loss %", "Sell a position this % below its entry", "sl"),
        "trailing_stop_pct": (
            "Trailing stop %",
            "Sell this % below the best close since entry",
            "tr",
        ),
        "max_drawdown_pct": (
            "Max drawdown %",
            "The bot pauses (no new entries) once its own equity falls this % from its peak",
            "dd",
        ),
    }
    cols = st.columns(3)
    for i, (field, (label, help_text, suffix)) in enumerate(pcts.items()):
        if field in hidden:
            continue
        with cols[i // 2]:
            values[field] = optional_pct(
                label, help_text, f"{key}{suffix}", init.get(field), bounded=bounded
            )
            _slot(slots, field)
    with cols[2]:
        if "max_open_positions" not in hidden:
            values["max_open_positions"] = int(
                st.number_input(
                    "Max open positions",
                    1 if bounded else None,
                    50 if bounded else None,
                    int(init.get("max_open_positions") or 1),
                    help="Lots held at once: a new entry waits while this many are open",
                    key=f"{key}mp",
                )
            )
            _slot(slots, "max_open_positions")
        values["cooldown_minutes"] = int(
            st.number_input(
                "Cooldown after a loss (minutes)",
                0 if bounded else None,
                10_080 if bounded else None,
                int(init.get("cooldown_minutes") or 0),
                help="No new entry for this long after a losing exit",
                key=f"{key}cd",
            )
        )
        _slot(slots, "cooldown_minutes")
    return values


def _cached(name: str, ttl_s: float, fetch: Callable[[], object]) -> object:
    """`fetch()`, kept in this browser session for `ttl_s` seconds (None answers too)."""
    store = st.session_state.setdefault("bot_form_cache", {})
    hit = store.get(name)
    if hit is not None and time.monotonic() - hit[0] < ttl_s:
        return hit[1]
    value = fetch()
    store[name] = (time.monotonic(), value)
    return value


def _round_price(price: float) -> float:
    """A price rounded to three significant figures (a grid's default bounds)."""
    return float(f"{price:.3g}")


def _grid_start(strategy, key: str, symbol: str, price: float | None, same: bool) -> dict:
    """A grid's lower/upper: ±10 % around the current price for a new grid; the fields start
    again from there when the market changes."""
    last = f"{key}grid_market"
    previous = st.session_state.get(last)
    st.session_state[last] = symbol
    if strategy.mode != "grid":
        return {}
    if previous not in (None, symbol):
        st.session_state.pop(f"{key}lower", None)
        st.session_state.pop(f"{key}upper", None)
        same = False
    if same or price is None:
        return {}
    return {"lower": _round_price(price * 0.9), "upper": _round_price(price * 1.1)}


def bot_form(
    rt,
    user,
    accounts: list,
    *,
    key: str = "new_",
    initial: dict | None = None,
    submit_label: str = "Create bot",
    bot_id: int | None = None,
) -> BotSpec | None:
    """Render the form; return the BotSpec once submitted without a problem (core validates
    it again when it stores it). `initial` (e.g. `core.backtest.service.bot_prefill`, or
    `core.bots.spec_values` of the bot `bot_id` being edited) replaces the defaults."""
    init = initial or {}
    usable = [a for a in accounts if a.status in ("ok", "unverified")]
    if not usable:
        st.info(
            "Add an exchange account first (a paper account needs no key) on the "
            "**Exchange accounts** page."
        )
        return None
    fits = [i for i, a in enumerate(usable) if a.id == init.get("account_id")] or [
        i for i, a in enumerate(usable) if a.exchange_id == init.get("exchange")
    ]
    slots: Slots = {}
    account = st.selectbox(
        "Exchange account",
        usable,
        index=fits[0] if fits else 0,
        key=f"{key}account",
        format_func=lambda a: f"{a.label} ({a.kind} · {a.exchange_id})",
    )
    _slot(slots, "account_id")
    strategy = strategy_picker(key, init.get("strategy"))
    _slot(slots, "strategy")
    markets_of = _market_memo(rt)
    try:
        markets = markets_of(account)
    except AppError as exc:
        st.error(f"The markets of {account.exchange_id} could not be loaded: {exc.message}")
        return None
    symbols = sorted(markets)
    want_symbol = init.get("symbol") if init.get("symbol") in symbols else "BTC/USDT"
    timeframes = list(TIMEFRAMES)
    name = st.text_input("Bot name", value=init.get("name", ""), max_chars=64, key=f"{key}name")
    _slot(slots, "name")
    cols = st.columns(2)
    with cols[0]:
        symbol = st.selectbox(
            "Market",
            symbols,
            key=f"{key}symbol",
            index=symbols.index(want_symbol) if want_symbol in symbols else 0,
        )
        _slot(slots, "symbol")
    with cols[1]:
        timeframe = st.selectbox(
            "Timeframe",
            timeframes,
            index=timeframes.index(init["timeframe"]) if init.get("timeframe") in timeframes else 0,
            key=f"{key}tf",
        )
        _slot(slots, "timeframe")
    market = markets.get(symbol)
    quote = market.quote if market is not None else ""
    price = _price(rt, account.exchange_id, symbol) if symbol else None
    decimals = step_decimals(market.price_step) if market is not None else 8
    if price is not None:
        st.caption(f"Current price of {symbol}: **{price:,.{decimals}f} {quote}**")
    elif symbol:
        st.caption(f"Current price of {symbol}: not known right now.")

    st.markdown("**Strategy parameters**")
    same = init.get("strategy") == strategy.name
    start = (init.get("params") if same else None) or {}
    start = start | _grid_start(strategy, key, symbol, price, same)
    params = param_inputs(strategy, key, start, bounded=False, slots=slots)
    _slot(slots, "params")
    shown_price = None if price is None else round(price, decimals)  # as the caption shows it
    note = _grid_note(params, shown_price) if strategy.mode == "grid" else None
    outside_ok = False
    if note:
        st.warning(note)
        outside_ok = st.checkbox(
            OUTSIDE_OK,
            key=f"{key}grid_outside",
            help="Without it, a grid whose range does not contain the current price is not saved.",
        )

    st.markdown("**Order size**")
    cols = st.columns(2)
    with cols[0]:
        size_type = st.radio(
            "Size in",
            ["quote", "pct"],
            index=1 if init.get("order_size_type") == "pct" else 0,
            horizontal=True,
            key=f"{key}stype",
            format_func=lambda t: f"{quote or 'quote'} amount" if t == "quote" else "% of balance",
        )
        _slot(slots, "order_size_type")
    with cols[1]:
        size = st.number_input(
            f"Size ({quote or 'quote'})" if size_type == "quote" else "Size (% of balance)",
            value=float(init.get("order_size", 100.0)),
            key=f"{key}size",
            format="%g",
        )
        _slot(slots, "order_size")
    if size_type == "quote" and quote:
        _holdings_note(rt, user, account, quote, float(size))

    st.markdown("**Risk limits**")
    risk = risk_inputs(key, init, strategy=strategy, bounded=False, slots=slots)
    submitted = st.button(submit_label, type="primary", key=f"{key}submit")
    spec = BotSpec(
        name=name,
        account_id=account.id,
        symbol=symbol or "",
        timeframe=timeframe,
        strategy=strategy.name,
        params=params,
        order_size_type=size_type,
        order_size=float(size),
        **risk,
    )
    tried = f"{key}tried"
    if submitted:
        st.session_state[tried] = True
    if not st.session_state.get(tried):
        return None
    problems = _problems(rt, user, spec, markets_of, bot_id)
    if note and not outside_ok:
        shown = f"{price:,.{decimals}f} {quote}".strip()
        problems.append(
            (
                "params.upper",
                f"The current price ({shown}) is outside this range. Set Lower and Upper price "
                f"around it, or tick “{OUTSIDE_OK}” below.",
            )
        )
    if not problems:
        return spec if submitted else None
    _show(problems, slots)
    if submitted:
        count = len(problems)
        st.error(
            f"Nothing was saved: fix the {count} problem{'s' if count > 1 else ''} marked above."
        )
    return None


def _market_memo(rt):
    """core.trading.market_lookup, asked once per exchange in this run."""
    lookup, seen = trading.market_lookup(rt), {}

    def markets_of(account):
        if account.exchange_id not in seen:
            seen[account.exchange_id] = lookup(account)
        return seen[account.exchange_id]

    return markets_of


def _price(rt, exchange_id: str, symbol: str) -> float | None:
    return _cached(
        f"price:{exchange_id}:{symbol}",
        PRICE_TTL_S,
        lambda: views.current_price(rt, exchange_id=exchange_id, symbol=symbol),
    )


def _grid_note(params: dict, price: float | None) -> str | None:
    try:
        return grid_price_note(
            {"lower": float(params["lower"]), "upper": float(params["upper"])}, price
        )
    except (KeyError, TypeError, ValueError):
        return None


def _holdings_note(rt, user, account, quote: str, size: float) -> None:
    """What the account holds of the quote currency; a warning for a live account when the
    order size is above it (a paper account's is refused by core, under the size field)."""
    held = _cached(
        f"balance:{user.id}:{account.id}:{quote}",
        BALANCE_TTL_S,
        lambda: account_svc.asset_balance(rt, owner=user, account_id=account.id, asset=quote),
    )
    if held is None:
        return
    if account.kind == "live" and size > held:
        st.warning(
            f"{size:,.2f} {quote} per order is more than {account.label!r} holds now: "
            f"{held:,.2f} {quote} free. Each buy spends at most the free balance, and none "
            "is placed below the market minimum."
        )
    else:
        where = "free on the exchange" if account.kind == "live" else "in this paper account"
        st.caption(f"{held:,.2f} {quote} {where}.")


def _problems(rt, user, spec: BotSpec, markets_of, bot_id: int | None) -> list[tuple[str, str]]:
    with rt.read() as session:
        return bots.spec_problems(
            session, owner=user, spec=deepcopy(spec), markets=markets_of, bot_id=bot_id
        )


def _show(problems: list[tuple[str, str]], slots: Slots) -> None:
    """Each problem under its field (several on one field together); others under "params"
    or, failing that, at the end."""
    by_field: dict[str, list[str]] = {}
    for field, message in problems:
        target = field if field in slots else "params" if field.startswith("params") else ""
        by_field.setdefault(target, []).append(message)
    for field, messages in by_field.items():
        text = "  \n".join(messages)
        if field in slots:
            slots[field].error(text)
        else:
            st.error(text)
