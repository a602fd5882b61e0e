"""The Exchange accounts page (AppTest of the page file with a signed-in session)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from core.accounts import credentials as account_keys
from core.accounts import store as accounts
from core.models import ExchangeAccount
from tests.accounts.test_onboarding import KEY, SECRET, StubExchange, add, catalogue  # noqa: F401
from tests.factories import make_user
from tests.ui.helpers import button, page, text_input

PAGE = "exchange_accounts.py"


@pytest.fixture
def bob(rt):
    with rt.session() as s:
        return make_user(s, username="bob")


def statuses(at) -> dict[str, str]:
    table = at.dataframe[0].value
    return dict(zip(table["Label"], table["Status"], strict=True))


def everything_shown(at) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "error", "warning", "success")
             for e in getattr(at, kind)]  # fmt: skip
    return " ".join(parts) + " ".join(d.value.to_csv() for d in at.dataframe)


def test_the_list_shows_the_key_masked_and_never_the_secret(rt, bob):
    add(rt, bob)
    at = page(PAGE, bob.id)
    assert not at.exception and not at.error
    assert at.dataframe[0].value["API key"].tolist() == ["AKIA…0001"]
    shown = everything_shown(at)
    assert KEY not in shown and SECRET not in shown and SECRET[:6] not in shown


def test_a_corrupted_key_shows_needs_reentry_and_other_accounts_keep_working(rt, bob):
    broken = add(rt, bob, label="broken").account.id
    healthy = add(rt, bob, label="healthy").account.id
    with rt.session() as s:
        s.get(ExchangeAccount, broken).api_key_enc = b"not-a-fernet-token"
    at = page(PAGE, bob.id)
    assert not at.exception and not at.error
    assert statuses(at) == {"broken": "needs re-entry", "healthy": "ok"}
    assert accounts.credentials_for_use(rt, owner=bob, account_id=healthy).secret == SECRET


def test_a_missing_master_key_shows_needs_reentry_and_the_page_renders(rt, bob, monkeypatch):
    add(rt, bob)
    monkeypatch.setenv("STEADYBOT_MASTER_KEYS", Fernet.generate_key().decode())
    at = page(PAGE, bob.id)
    assert not at.exception and not at.error
    assert statuses(at) == {"main": "needs re-entry"}
    assert any("no longer decrypts" in c.value for c in at.caption)


def _fill_add_form(at, exchange="binance", **values):
    next(s for s in at.selectbox if s.label == "Exchange").set_value(exchange).run()
    text_input(at, "Label").input(values.get("label", "main"))
    text_input(at, "API key").input(values.get("api_key", KEY))
    text_input(at, "Secret").input(values.get("secret", SECRET))
    return button(at, "Check and save").click().run()


def test_adding_a_good_key_through_the_form_saves_it(rt, bob, monkeypatch):
    monkeypatch.setattr(account_keys, "live_connector", StubExchange())
    at = _fill_add_form(page(PAGE, bob.id))
    assert not at.exception
    assert any("saved" in s.value for s in at.success)
    with rt.read() as s:
        assert s.exec(select(ExchangeAccount)).one().status == "ok"


@pytest.mark.parametrize(
    "values",
    [{"api_key": ""}, {"secret": "x" * 10_000}, {"api_key": "key\x00withnul"}, {"secret": "ü€"}],
)
def test_bad_input_on_the_form_shows_a_clear_message_and_stores_nothing(rt, bob, values):
    at = _fill_add_form(page(PAGE, bob.id), **values)
    assert not at.exception
    assert [e.value for e in at.error] and "incident" not in at.error[0].value
    with rt.read() as s:
        assert s.exec(select(ExchangeAccount)).first() is None


def test_an_unreachable_exchange_asks_before_saving_unverified(rt, bob, monkeypatch):
    monkeypatch.setattr(account_keys, "live_connector", StubExchange("down"))
    at = _fill_add_form(page(PAGE, bob.id))
    assert any("unverified" in w.value for w in at.warning)
    next(c for c in at.checkbox if "unverified" in c.label).check()
    at = button(at, "Check and save").click().run()
    with rt.read() as s:
        assert s.exec(select(ExchangeAccount)).one().status == "unverified"


def test_delete_asks_for_confirmation_first(rt, bob):
    add(rt, bob)
    at = button(page(PAGE, bob.id), "Delete").click().run()
    assert any("Delete 'main'?" in w.value for w in at.warning)
    assert len(accounts_of(rt)) == 1
    at = button(at, "Yes, delete").click().run()
    assert not at.exception and accounts_of(rt) == []


def accounts_of(rt):
    with rt.read() as s:
        return list(s.exec(select(ExchangeAccount)))


def test_an_account_with_bots_is_deleted_and_its_bots_still_render(rt, bob):
    """Erasure from the page: confirmed, the key gone, the running bot stopped, and the Bots
    and Bot detail pages still show the bot and its history."""
    import time

    from core.models import Bot
    from core.trading import tick as engine
    from tests.factories import make_bot, make_paper_account

    with rt.session() as s:
        paper = make_paper_account(s, owner=bob, label="play")
        bot = make_bot(s, owner=bob, account_id=paper.id, params={"fast": 3, "slow": 8}, start=True)
    now = int(time.time() * 1000) // 60_000 * 60_000
    for i in range(40, 1, -1):
        ts = now - i * 60_000
        engine.run_bot_tick(rt, bot_id=bot.id, candle_ts=ts, clock=lambda t=ts: t + 61_000)
    at = button(page(PAGE, bob.id), "Delete").click().run()
    assert any("Bots on this account are stopped" in w.value for w in at.warning)
    at = button(at, "Yes, delete").click().run()
    assert not at.exception
    assert any("its key is erased. 1 bot(s) stopped." in s.value for s in at.success)
    assert any("No exchange accounts yet" in i.value for i in at.info)
    with rt.read() as s:
        assert s.get(Bot, bot.id).status == "stopped"
        assert [a.status for a in accounts_of(rt)] == ["deleted"]
    bots_page = page("bots.py", bob.id)
    assert not bots_page.exception and not bots_page.error
    assert any(bot.name in m.value for m in bots_page.markdown)
    detail = page("bot_detail.py", bob.id)
    assert not detail.exception and not detail.error
    assert int(next(m for m in detail.metric if m.label == "Trades").value) >= 0


def test_a_paper_account_is_listed_at_once_with_a_toast(rt, bob):
    at = page(PAGE, bob.id)
    assert any("No exchange accounts yet" in i.value for i in at.info)
    text_input(at, "Label").input("Play")
    at = button(at, "Open paper account").click().run()
    assert not at.exception and not at.error
    assert statuses(at) == {"Play": "ok"}  # the list above the form, in this same click
    assert not any("No exchange accounts yet" in i.value for i in at.info)
    assert any("Paper account 'Play' opened." in t.value for t in at.toast)
    assert any("Paper account opened." in s.value for s in at.success)
