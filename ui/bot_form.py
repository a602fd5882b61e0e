"""The bot form, generated from the strategy's parameter schema."""

from __future__ import annotations

import streamlit as st

from core.bots import BotSpec
from core.exchanges import TIMEFRAMES
from core.strategy import list_strategies


def param_inputs(strategy, key: str, initial: dict | None = None) -> dict:
    """One widget per declared parameter; `initial` values replace the defaults."""
    values = {}
    start = {p.name: p.default for p in strategy.params} | (initial or {})
    for p in strategy.params:
        label = p.name.replace("_", " ").capitalize()
        if p.type is bool:
            values[p.name] = st.checkbox(
                label, value=bool(start[p.name]), help=p.help, key=f"{key}{p.name}"
            )
        elif p.type is int:
            values[p.name] = st.number_input(
                label,
                min_value=int(p.min) if p.min is not None else None,
                max_value=int(p.max) if p.max is not None else None,
                value=int(start[p.name]),
                step=1,
                help=p.help,
                key=f"{key}{p.name}",
            )
        else:
            values[p.name] = st.number_input(
                label,
                min_value=float(p.min) if p.min is not None else None,
                max_value=float(p.max) if p.max is not None else None,
                value=float(start[p.name]),
                help=p.help,
                key=f"{key}{p.name}",
                format="%g",
            )
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
    label: str, help_text: str, key: str, initial: float | None = None
) -> float | None:
    value = st.number_input(
        f"{label} (0 = off)",
        min_value=0.0,
        max_value=1000.0,
        value=float(initial or 0.0),
        help=help_text,
        key=key,
        format="%g",
    )
    return value or None


def risk_inputs(key: str, init: dict | None = None) -> dict:
    """The risk-limit widgets of a bot (and of a backtest, which applies the same rules)."""
    init = init or {}
    cols = st.columns(3)
    with cols[0]:
        tp = optional_pct(
            "Take-profit %",
            "Sell a position this % above its entry",
            f"{key}tp",
            init.get("take_profit_pct"),
        )
        sl = optional_pct(
            "Stop-loss %",
            "Sell a position this % below its entry",
            f"{key}sl",
            init.get("stop_loss_pct"),
        )
    with cols[1]:
        trail = optional_pct(
            "Trailing stop %",
            "Sell this % below the best close since entry",
            f"{key}tr",
            init.get("trailing_stop_pct"),
        )
        dd = optional_pct(
            "Max drawdown %",
            "No new entries (a bot pauses) after this drawdown of its equity",
            f"{key}dd",
            init.get("max_drawdown_pct"),
        )
    with cols[2]:
        max_pos = st.number_input(
            "Max open positions", 1, 50, int(init.get("max_open_positions", 1)), key=f"{key}mp"
        )
        cooldown = st.number_input(
            "Cooldown after a loss (minutes)",
            0,
            10_080,
            int(init.get("cooldown_minutes", 0)),
            key=f"{key}cd",
        )
    return {
        "take_profit_pct": tp,
        "stop_loss_pct": sl,
        "trailing_stop_pct": trail,
        "max_drawdown_pct": dd,
        "max_open_positions": int(max_pos),
        "cooldown_minutes": int(cooldown),
    }


def bot_form(
    accounts: list,
    markets_for,
    key: str = "new_",
    initial: dict | None = None,
    submit_label: str = "Create bot",
) -> BotSpec | None:
    """Render the form; return a BotSpec when submitted (the service validates it).

    `initial` (e.g. `core.backtest.service.bot_prefill`, or `core.bots.spec_values` of a bot
    being edited) replaces the defaults."""
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
    account = st.selectbox(
        "Exchange account",
        usable,
        index=fits[0] if fits else 0,
        key=f"{key}account",
        format_func=lambda a: f"{a.label} ({a.kind} · {a.exchange_id})",
    )
    symbols = sorted(markets_for(account))
    strategy = strategy_picker(key, init.get("strategy"))
    want_symbol = init.get("symbol") if init.get("symbol") in symbols else "BTC/USDT"
    timeframes = list(TIMEFRAMES)
    with st.form(f"{key}form"):
        name = st.text_input("Bot name", value=init.get("name", ""), max_chars=64, key=f"{key}name")
        cols = st.columns(2)
        symbol = cols[0].selectbox(
            "Market",
            symbols,
            key=f"{key}symbol",
            index=symbols.index(want_symbol) if want_symbol in symbols else 0,
        )
        timeframe = cols[1].selectbox(
            "Timeframe",
            timeframes,
            index=timeframes.index(init["timeframe"]) if init.get("timeframe") in timeframes else 0,
            key=f"{key}tf",
        )
        st.markdown("**Strategy parameters**")
        same = init.get("strategy") == strategy.name
        params = param_inputs(strategy, key, init.get("params") if same else None)
        st.markdown("**Order size**")
        cols = st.columns(2)
        size_type = cols[0].radio(
            "Size in",
            ["quote", "pct"],
            index=1 if init.get("order_size_type") == "pct" else 0,
            horizontal=True,
            key=f"{key}stype",
            format_func=lambda t: "quote amount" if t == "quote" else "% of balance",
        )
        size = cols[1].number_input(
            "Size",
            min_value=0.0,
            value=float(init.get("order_size", 100.0)),
            key=f"{key}size",
            format="%g",
        )
        st.markdown("**Risk limits**")
        risk = risk_inputs(key, init)
        submitted = st.form_submit_button(submit_label, type="primary")
    if not submitted:
        return None
    return BotSpec(
        name=name,
        account_id=account.id,
        symbol=symbol,
        timeframe=timeframe,
        strategy=strategy.name,
        params=params,
        order_size_type=size_type,
        order_size=float(size),
        **risk,
    )
