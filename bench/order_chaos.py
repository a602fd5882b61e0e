"""Order chaos: live bots on three fake venues, two `python -m worker` processes SIGKILLed at
random, every fault the fakes know injected at random; afterwards each venue's order book must
match the database exactly once. The big brother of tests/worker/test_crash.py.

Set-up: the fake Binance, OKX and Bybit (tests.fakes.exchange, real ccxt classes over HTTP on
127.0.0.1, one URL each through STEADYBOT_EXCHANGE_API_URLS), a throwaway PostgreSQL database
and a Redis queue (a db number, flushed before and after). One live account per venue, added
through `core.accounts.add_live_account` (the key check, then the vault; OKX with its
passphrase), and `--bots-per-venue` DCA bots on 1m candles (buy at once, take profit 0.1 %:
orders on most candles). Worker A runs on the true clock; worker B runs under libfaketime
(Debian's `faketime` package) with its wall clock `--skew-s` behind (its monotonic clock is
left alone). The schedulers of both are off: this process feeds one past candle per round
(`schedule_once(now_ms=...)`, as test_crash does), which also re-enqueues lost ticks.

Each round: maybe inject 1-2 faults (latency of 0.5-`--latency-s` seconds, timeout, 429,
5xx, malformed, reset, or lost, i.e. executed and the answer dropped) on a venue's create,
look-up, balance or candle path, maybe change a venue's `visibility_delay_ms` (0 to
`--visibility-ms`), wait 0.3-`--round-s` s, SIGKILL worker A or B and restart it (waiting for
its heartbeat, at most 60 s). A latency fault holds the request before the venue handles it,
as a congested gateway does: past the client's timeout the venue still executes it if its
signature timestamp is fresh enough (Binance: ccxt's recvWindow, 10 s; Bybit: recv_window,
5 s; OKX: 30 s). The default 12 s covers all three cases.

Bots that went to `error` (three failed ticks in a row) are started again, as their owner
would. After `--kills` kills: faults cleared, visibility 0, both workers stopped, one
undisturbed worker settles everything (at most `--settle-s`: no tick queued or running, no
order pending_submit / sending / unknown / open), then each venue's orders are compared with
the database.

Venue clock: the fakes accept a signature timestamp within their window (Binance recvWindow,
Bybit recv_window, OKX 30 s) of EITHER their book clock or the true clock. With
`--venue-clock skewed` (default) the books run on worker B's clock, so both workers can sign
and B trades like A; with `--venue-clock true` every signed request of B is refused as a real
venue would refuse it (LiveExchange does not enable ccxt's adjustForTimeDifference): B then
claims ticks, fails them and leaves orders `unknown` for A to settle.

Metrics: duplicates (exchange orders beyond the first for one (bot, candle, seq) intent, i.e.
one client id placed twice), untracked (exchange orders whose client id is not in the database
as closed/open/canceled), unknown_left (orders still pending_submit/sending/unknown/open),
never_placed_but_exists (database says never_placed, the venue has it). Any of them non-zero:
a forensic trace per order (database row, venue orders, faults consumed, kills, worker log
lines) is printed and the exit code is 1. The data dir (worker logs) is kept then.

    python bench/order_chaos.py [--kills 100] [--seed 7] [--bots-per-venue 4]
        [--venue-clock skewed|true] [--skew-s 60] [--redis-db 13] [--keep]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from core import bots, users  # noqa: E402
from core.accounts import add_live_account  # noqa: E402
from core.exchanges import capability  # noqa: E402
from core.models import Bot, BotOrder, BotStatus, Tick, WorkerHeartbeat  # noqa: E402
from core.platform.config import Settings  # noqa: E402
from core.platform.db import read_now_ms  # noqa: E402
from core.platform.runtime import start  # noqa: E402
from core.trading import market_lookup  # noqa: E402
from tests.fakes.exchange import FakeExchange  # noqa: E402
from tests.fakes.venue_clients import BALANCE_PATH, CREATE_PATH  # noqa: E402
from worker.service import build_service  # noqa: E402

MIN = 60_000
VENUES = ("binance", "okx", "bybit")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
COOKIE_KEY = "order-chaos-cookie-key-0123456789abcdef012345"
MASTER_KEY = "b3JkZXItY2hhb3MtbWFzdGVyLWtleS0zMi1ieXRlcyE="  # Fernet: 32 bytes, base64
PASSPHRASE = "Chaos-Pass-1"
START_USDT = 1_000_000.0
PATHS = {  # where each fault may land, per venue (OKX's ccxt creates through batch-orders)
    venue: {
        "create": CREATE_PATH[venue],
        "lookup": {
            "binance": ("/api/v3/order",),
            "okx": ("/api/v5/trade/order",),
            "bybit": ("/v5/order/realtime", "/v5/order/history"),
        }[venue],
        "balance": BALANCE_PATH[venue],
        "klines": {
            "binance": "/api/v3/klines",
            "okx": "/api/v5/market/candles",
            "bybit": "/v5/market/kline",
        }[venue],
    }
    for venue in VENUES
}
FAULT_KINDS = ("lost", "5xx", "429", "timeout", "latency", "malformed", "reset")
UNSETTLED = ("pending_submit", "sending", "unknown", "open")
PLACED = ("closed", "open", "canceled")
LIBFAKETIME = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/*/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
)


# Worker B's entry point under libfaketime: 0.9.10 (Debian bookworm) moves the absolute
# CLOCK_MONOTONIC deadline of clock_nanosleep, which CPython's time.sleep uses, by the fake
# wall-clock offset (EINVAL) when the monotonic clock is left true; with a faked monotonic
# clock instead, threading waits hang. So the monotonic clock stays true and time.sleep waits
# on an Event (a relative, working wait). Everything else is `python -m worker` as is.
SKEWED_WORKER = """
import runpy, threading, time
def sleep(seconds):
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)
time.sleep = sleep
runpy.run_module("worker", run_name="__main__", alter_sys=True)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Journal:
    """What happened, on the true clock (ms): faults injected and consumed, orders the venues
    booked, kills and starts. For the forensic trace of a bad order."""

    events: list[tuple[int, str, str, str]] = field(default_factory=list)  # (ms, venue, kind, text)
    injected: Counter = field(default_factory=Counter)
    consumed: Counter = field(default_factory=Counter)
    on_create: Counter = field(default_factory=Counter)  # of `consumed`: on a create path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, venue: str, kind: str, detail: str) -> None:
        with self.lock:
            self.events.append((int(time.time() * 1000), venue, kind, detail))


def libfaketime() -> str | None:
    for pattern in LIBFAKETIME:
        for path in glob.glob(pattern):
            return path
    return None


def watch(fake: FakeExchange, journal: Journal) -> None:
    """Record each fault the fake applies and each order it books (wrapping its methods)."""
    take, place, venue = fake.take_fault, fake.book.place, fake.venue

    def take_fault(path: str):
        fault = take(path)
        if fault is not None:
            method = sys._getframe(1).f_locals.get("method", "?")  # the handler's _handle
            journal.consumed[fault["kind"]] += 1
            if path == PATHS[venue]["create"] and method == "POST":
                journal.on_create[fault["kind"]] += 1
            seconds = f" {fault['seconds']:.1f}s" if fault["seconds"] else ""
            journal.add(venue, "fault-hit", f"{fault['kind']}{seconds} on {method} {path}")
        return fault

    def booked(api_key: str, **kwargs):
        order = place(api_key, **kwargs)
        delay = order.visible_at - time.monotonic()
        journal.add(venue, "booked", f"{order.client_id} id={order.id} visible in {delay:.2f}s")
        return order

    fake.take_fault = take_fault
    fake.book.place = booked


# --- services ---------------------------------------------------------------------------------
def create_database(admin_url: str) -> str:
    import psycopg

    name = f"order_chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    from core.platform.db import dispose_engines

    dispose_engines()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# --- workers ----------------------------------------------------------------------------------
@dataclass
class Worker:
    name: str  # "A" (true clock) or "B" (skewed)
    env: dict
    data_dir: Path
    argv: tuple[str, ...] = ("-m", "worker")
    proc: subprocess.Popen | None = None
    starts: int = 0
    start_seconds: list[float] = field(default_factory=list)
    own_exits: list[int] = field(default_factory=list)

    def spawn(self) -> None:
        stderr = open(self.data_dir / "stderr.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, *self.argv],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        stderr.close()
        self.starts += 1

    def wait_up(self, rt, journal: Journal, timeout_s: float = 60.0) -> bool:
        """Until its heartbeat row exists (it then works: the kill lands mid-work)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            with rt.read() as s:
                beat = s.exec(
                    select(WorkerHeartbeat.worker_id).where(WorkerHeartbeat.pid == self.proc.pid)
                ).first()
            if beat:
                self.start_seconds.append(time.monotonic() - t0)
                journal.add("-", "up", f"worker {self.name} pid {self.proc.pid}")
                return True
            if self.proc.poll() is not None:
                self.own_exits.append(self.proc.returncode)
                journal.add("-", "exit", f"worker {self.name} exited {self.proc.returncode}")
                return False
            time.sleep(0.05)
        return False

    def kill(self, journal: Journal, sig=signal.SIGKILL, wait_s: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        journal.add("-", "kill" if sig == signal.SIGKILL else "stop", f"worker {self.name} "
                    f"pid {self.proc.pid}")  # fmt: skip
        self.proc.send_signal(sig)
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def worker_env(base: dict, data_dir: Path, skew_s: int, faketime_lib: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")}
    env |= {**base, "STEADYBOT_DATA_DIR": str(data_dir)}
    if skew_s and faketime_lib:
        env |= {
            "LD_PRELOAD": faketime_lib,
            "FAKETIME": f"-{skew_s}s",  # relative: the wall clock runs, `skew_s` behind
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # a skewed host keeps a true monotonic clock
            "FAKETIME_DONT_RESET": "1",
        }
    return env


def start_worker(worker: Worker, rt, journal: Journal, tries: int = 3) -> None:
    for _ in range(tries):
        worker.spawn()
        journal.add("-", "spawn", f"worker {worker.name} pid {worker.proc.pid}")
        if worker.wait_up(rt, journal):
            return
        worker.kill(journal)
        log(f"worker {worker.name} did not come up; its stderr: {stderr_tail(worker)}")
    raise RuntimeError(f"worker {worker.name} failed to start {tries} times")


def stderr_tail(worker: Worker, n: int = 5) -> str:
    path = worker.data_dir / "stderr.log"
    lines = path.read_text(errors="replace").splitlines()[-n:] if path.exists() else []
    return " | ".join(lines)


# --- the world --------------------------------------------------------------------------------
def setup_world(rt, fakes: dict[str, FakeExchange], keys: dict, per_venue: int):
    with rt.session() as s:
        owner = users.create_user(
            s, username="chaos", email="chaos@x.io", name="Chaos", password="Chaos-Pass-9"
        )
    accounts, bot_ids = {}, []
    for venue in VENUES:
        key, secret = keys[venue]
        outcome = add_live_account(
            rt,
            owner=owner,
            exchange_id=venue,
            label=f"{venue}-fake",
            api_key=key,
            secret=secret,
            extra={"password": PASSPHRASE} if venue == "okx" else None,
        )
        if outcome.result != "saved":
            raise RuntimeError(f"{venue}: the key was not saved: {outcome.message}")
        accounts[venue] = outcome.account.id
    lookup = market_lookup(rt)
    with rt.session() as s:
        for venue in VENUES:
            for i in range(per_venue):
                spec = bots.BotSpec(
                    name=f"{venue}-{i}",
                    account_id=accounts[venue],
                    symbol=SYMBOLS[i % len(SYMBOLS)],
                    timeframe="1m",
                    strategy="dca",
                    params={"dip_pct": 0, "take_profit_pct": 0.1},
                    order_size=50.0,
                )
                bot = bots.create_bot(s, owner=owner, spec=spec, markets=lookup)
                bots.change_status(s, owner=owner, bot_id=bot.id, action="start")
                bot_ids.append(bot.id)
    return owner, accounts, bot_ids


def restart_errored(rt, owner) -> int:
    with rt.session() as s:
        errored = s.exec(select(Bot.id).where(Bot.status == BotStatus.ERROR)).all()
        for bot_id in errored:
            bots.change_status(s, owner=owner, bot_id=bot_id, action="start")
    return len(errored)


def backlog(rt) -> int:
    with rt.read() as s:
        return len(s.exec(select(Tick.id).where(col(Tick.status).in_(("queued", "running")))).all())


def inject_random(rng: random.Random, fakes, journal: Journal, args) -> None:
    venue = rng.choice(VENUES)
    kind = rng.choice(FAULT_KINDS)
    paths = PATHS[venue]
    others = [*paths["lookup"], paths["balance"], paths["klines"]]
    if kind in ("lost", "malformed"):  # executed, the answer useless: creates above all
        path = rng.choice([paths["create"]] * 3 + list(paths["lookup"]))
    elif kind == "latency":  # executed late: creates above all (look-ups share Binance's path)
        path = rng.choice([paths["create"]] * 3 + others)
    else:
        path = rng.choice([paths["create"]] * 2 + others)
    count = rng.randint(1, 3)
    seconds = round(rng.uniform(0.5, args.latency_s), 1) if kind == "latency" else 0.0
    fakes[venue].inject(kind, path=path, count=count, seconds=seconds, retry_after=1)
    journal.injected[kind] += count
    journal.add(venue, "inject", f"{kind}{f' {seconds}s' if seconds else ''} x{count} on {path}")


# --- the comparison ---------------------------------------------------------------------------
def ours(venue: str, wire: str) -> str:
    """The client id as we wrote it, from the one the venue shows (the capability table's
    mapping: OKX's ids are alphanumeric, so dashes travel as 'X')."""
    cap = capability(venue)
    kind, _, sub = cap.id_map.partition(":")
    wire = wire.removeprefix(cap.wire_prefix)
    return wire.replace(sub, "-") if kind == "dash" else wire


def wire_id(venue: str, client_id: str) -> str:
    kind, _, sub = capability(venue).id_map.partition(":")
    return client_id.replace("-", sub) if kind == "dash" else client_id


def intent_of(client_id: str) -> tuple | None:
    parts = client_id.split("-")
    if len(parts) != 4 or parts[0] != "sb" or not all(p.isdigit() for p in parts[1:]):
        return None
    return tuple(int(p) for p in parts[1:])


def compare(rt, fakes, keys, accounts) -> tuple[dict, list]:
    """The counts per venue, and the problems [(kind, venue, our client id)]."""
    with rt.read() as s:
        records = s.exec(select(BotOrder)).all()
    by_account = defaultdict(list)
    for o in records:
        by_account[o.account_id].append(o)
    table, problems = {}, []
    for venue in VENUES:
        with fakes[venue].book.lock:
            booked = list(fakes[venue].book.orders.get(keys[venue][0], []))
        mine = {o.client_order_id: o for o in by_account[accounts[venue]]}
        at_venue = defaultdict(list)
        for order in booked:
            at_venue[ours(venue, order.client_id)].append(order)
        per_intent = Counter()
        for cid, orders in at_venue.items():
            per_intent[intent_of(cid) or cid] += len(orders)
        row = Counter()
        row["exchange"] = len(booked)
        row["database"] = sum(1 for o in mine.values() if o.status in PLACED)
        for cid, orders in sorted(at_venue.items()):
            record = mine.get(cid)
            if record is None or record.status not in PLACED:
                row["untracked"] += len(orders)
                problems.append(("untracked", venue, cid))
            if record is not None and record.status == "never_placed":
                row["never_placed_but_exists"] += 1
                problems.append(("never_placed_but_exists", venue, cid))
            placed = record is not None and record.status in PLACED
            if placed and abs(orders[-1].filled - record.filled) > 1e-9:
                row["fill_mismatch"] += 1
                problems.append(("fill_mismatch", venue, cid))
        for intent, n in per_intent.items():
            if n > 1:
                row["duplicates"] += n - 1
                cid = next(c for c in at_venue if (intent_of(c) or c) == intent)
                problems.append(("duplicate", venue, cid))
        for cid, record in mine.items():
            if record.status in UNSETTLED:
                row["unknown_left"] += 1
                problems.append(("unknown_left", venue, cid))
            elif record.status in PLACED and cid not in at_venue:
                row["recorded_not_on_exchange"] += 1
                problems.append(("recorded_not_on_exchange", venue, cid))
            row[f"db_{record.status}"] += 1
        row["balance_mismatch"] = int(not balances_agree(fakes[venue], keys[venue][0], mine))
        table[venue] = row
    return table, problems


def balances_agree(fake: FakeExchange, key: str, mine: dict) -> bool:
    """The venue's quote balance equals the start minus what the database says was spent."""
    spent = 0.0
    for o in mine.values():
        if o.status == "closed":
            spent += (o.cost + o.fee) if o.side == "buy" else -(o.cost - o.fee)
    with fake.book.lock:
        usdt = fake.book.keys[key].balances.get("USDT", 0.0)
    return abs(usdt - (START_USDT - spent)) < 1e-4


def forensics(rt, problems, journal: Journal, fakes, keys, workers, skew_s) -> None:
    print(f"\nFORENSICS (true-clock ms; worker B's own log times run {skew_s}s behind)")
    with rt.read() as s:
        rows = {o.client_order_id: o for o in s.exec(select(BotOrder)).all()}
    for kind, venue, cid in problems[:20]:
        print(f"\n== {kind} on {venue}: {cid}")
        o = rows.get(cid)
        if o is not None:
            print(
                f"  database: status={o.status} sent_at_ms={o.sent_at_ms} "
                f"deadline_ms={o.deadline_ms} checks={o.checks} filled={o.filled} "
                f"exchange_order_id={o.exchange_order_id} error={o.error!r} "
                f"updated_at={o.updated_at}"
            )
        wire = wire_id(venue, cid)
        with fakes[venue].book.lock:
            booked = [x for x in fakes[venue].book.orders.get(keys[venue][0], [])
                      if x.client_id == wire]  # fmt: skip
        for x in booked:
            print(f"  {venue}: id={x.id} status={x.status} filled={x.filled} created={x.created}")
        sent = (o.sent_at_ms if o is not None and o.sent_at_ms else None) or 0
        for ms, v, what, detail in journal.events:
            near = sent and sent - 15_000 <= ms <= sent + 60_000
            if wire in detail or (near and v in (venue, "-") and what != "booked"):
                print(f"  {ms} {v:8} {what:9} {detail}")
        for worker in workers:
            path = worker.data_dir / "logs" / "worker.log"
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    if cid in line or wire in line:
                        print(f"  worker {worker.name}: {line[:240]}")


# --- main -------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bots-per-venue", type=int, default=4)
    parser.add_argument("--skew-s", type=int, default=60, help="worker B's clock, behind")
    parser.add_argument("--venue-clock", choices=("skewed", "true"), default="skewed")
    parser.add_argument("--timeout-ms", type=int, default=1500, help="the exchange timeout")
    parser.add_argument("--round-s", type=float, default=3.0, help="longest wait before a kill")
    parser.add_argument("--latency-s", type=float, default=12.0, help="longest latency fault")
    parser.add_argument("--visibility-ms", type=int, default=4000, help="longest visibility")
    parser.add_argument("--fault-rate", type=float, default=0.7, help="rounds with faults")
    parser.add_argument("--settle-s", type=float, default=300.0)
    parser.add_argument("--max-s", type=float, default=0.0, help="kill phase bound (0: auto)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the data dir (worker logs)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the data dir goes")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    with ExitStack() as cleanup:
        return chaos(args, cleanup)


def chaos(args: argparse.Namespace, cleanup: ExitStack) -> int:
    """The run; every resource it makes is released by `cleanup`, whatever happens."""
    t_start = time.monotonic()
    rng = random.Random(args.seed)
    journal = Journal()
    faketime_lib = libfaketime() if args.skew_s else None
    skew_s = args.skew_s if faketime_lib else 0
    if args.skew_s and not faketime_lib:
        log("libfaketime not found (apt-get install faketime): worker B runs UNSKEWED")
    tmp = Path(tempfile.mkdtemp(prefix="order-chaos-", dir=args.work_dir))
    keep = {"tmp": True}  # until the run ends cleanly: then only with --keep
    cleanup.callback(lambda: log(f"data dir kept: {tmp}") if keep["tmp"] else shutil.rmtree(tmp))
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    flush_redis(redis_url)
    cleanup.callback(flush_redis, redis_url)
    db_url = create_database(args.pg_admin_url)
    cleanup.callback(drop_database, args.pg_admin_url, db_url)
    book_clock = None
    if args.venue_clock == "skewed" and skew_s:
        book_clock = lambda: int(time.time() * 1000) - skew_s * 1000  # noqa: E731
    fakes, keys = {}, {}
    for venue in VENUES:
        fake = FakeExchange(venue=venue, now_ms=book_clock)
        fake.start()
        cleanup.callback(fake.stop)
        key, secret = f"chaos-{venue}-key-{uuid.uuid4().hex[:12]}", f"chaos-{venue}-s3cret-0001"
        fake.add_key(
            key,
            secret,
            passphrase=PASSPHRASE if venue == "okx" else "",
            balances={"USDT": START_USDT, "BTC": 0.0, "ETH": 0.0, "SOL": 0.0},
        )
        watch(fake, journal)
        fakes[venue], keys[venue] = fake, (key, secret)
    urls = ",".join(f"{v}={fakes[v].url}" for v in VENUES)
    settings = Settings(
        data_dir=tmp / "bench",
        database_url=db_url,
        queue_url=redis_url,
        cookie_key=SecretStr(COOKIE_KEY),
        master_keys=SecretStr(MASTER_KEY),
        demo=False,
        log_level="WARNING",
        worker_scheduler=False,
        exchange_api_urls=urls,
        exchange_timeout_ms=args.timeout_ms,
    )
    base_env = {
        "STEADYBOT_DATABASE_URL": db_url,
        "STEADYBOT_QUEUE_URL": redis_url,
        "STEADYBOT_COOKIE_KEY": COOKIE_KEY,
        "STEADYBOT_MASTER_KEYS": MASTER_KEY,
        "STEADYBOT_DEMO": "0",
        "STEADYBOT_EXCHANGE_API_URLS": urls,
        "STEADYBOT_EXCHANGE_TIMEOUT_MS": str(args.timeout_ms),
        "STEADYBOT_WORKER_SCHEDULER": "0",
        "STEADYBOT_LOG_LEVEL": "INFO",  # the order lines, for the forensic trace
    }
    workers: list[Worker] = []
    cleanup.callback(stop_all, workers, journal)
    for name, skew in (("A", 0), ("B", skew_s)):
        data_dir = tmp / f"worker-{name}"
        data_dir.mkdir(parents=True)
        env = worker_env(base_env, data_dir, skew, faketime_lib)
        argv = ("-c", SKEWED_WORKER) if skew else ("-m", "worker")
        workers.append(Worker(name=name, env=env, data_dir=data_dir, argv=argv))
    kills, candles, restarts = 0, 0, 0
    rt = start("order-chaos", settings=settings)
    cleanup.callback(rt.engine.dispose)
    owner, accounts, bot_ids = setup_world(rt, fakes, keys, args.bots_per_venue)
    producer = build_service(rt, mode="external")
    now = int(time.time() * 1000) - skew_s * 1000  # the older clock: candles closed for all
    first = now - now % MIN - (2 * args.kills + 10) * MIN  # at most two candles per round
    last_fed = first - MIN

    def feed(n: int = 1) -> None:
        nonlocal candles, last_fed
        for _ in range(n):
            last_fed += MIN
            producer.app.schedule_once(now_ms=last_fed + MIN + 1_000)
            candles += 1

    for worker in workers:
        start_worker(worker, rt, journal)
    measured_skew = measure_skew(rt, workers[1])
    log(f"{len(bot_ids)} bots on {', '.join(VENUES)}; worker B skew {measured_skew:.1f}s; "
        f"data in {tmp}")  # fmt: skip
    max_s = args.max_s or 60 + args.kills * (args.round_s + 25)
    t_kills = time.monotonic()
    while kills < args.kills and time.monotonic() - t_kills < max_s:
        waiting = backlog(rt)
        if waiting <= 2 * len(bot_ids):
            feed(2 if waiting == 0 else 1)
        else:
            producer.app.schedule_once(now_ms=last_fed + MIN + 1_000)  # lost ticks only
        restarts += restart_errored(rt, owner)
        if rng.random() < args.fault_rate:
            for _ in range(rng.randint(1, 2)):
                inject_random(rng, fakes, journal, args)
        for venue in VENUES:
            if rng.random() < 0.3:
                ms = rng.choice([0, rng.randint(500, args.visibility_ms)])
                fakes[venue].configure(visibility_delay_ms=ms)
                journal.add(venue, "visibility", f"{ms} ms")
        time.sleep(rng.uniform(0.3, args.round_s))
        for worker in workers:  # one that died on its own is restarted (and reported)
            if worker.proc.poll() is not None:
                worker.own_exits.append(worker.proc.returncode)
                log(f"worker {worker.name} exited by itself: {stderr_tail(worker)}")
                start_worker(worker, rt, journal)
        victim = rng.choice(workers)
        victim.kill(journal)
        kills += 1
        start_worker(victim, rt, journal)
        if kills % 10 == 0:
            log(f"{kills} kills, {candles} candles fed, backlog {backlog(rt)}")
    kill_s = time.monotonic() - t_kills
    # Settle: no more chaos; one undisturbed worker finishes everything.
    for fake in fakes.values():
        fake.clear_faults()
        fake.configure(visibility_delay_ms=0)
    for worker in workers:
        worker.kill(journal, sig=signal.SIGINT, wait_s=60)
    restarts += restart_errored(rt, owner)
    settle_dir = tmp / "worker-S"
    settle_dir.mkdir()
    settler = Worker("S", worker_env(base_env, settle_dir, 0, None), settle_dir)
    workers.append(settler)
    start_worker(settler, rt, journal)
    t_settle = time.monotonic()
    while True:
        producer.app.schedule_once(now_ms=last_fed + MIN + 1_000)  # re-enqueue lost ticks
        ticks_open, orders_open = unsettled(rt)
        if (not ticks_open and not orders_open) or time.monotonic() - t_settle > args.settle_s:
            break
        time.sleep(2)
    settle_s = time.monotonic() - t_settle
    settler.kill(journal, sig=signal.SIGINT, wait_s=60)
    table, problems = compare(rt, fakes, keys, accounts)
    with rt.read() as s:
        tick_counts = Counter(s.exec(select(Tick.status)).all())
        spans = [
            (done - claimed).total_seconds()
            for claimed, done in s.exec(
                select(Tick.claimed_at, Tick.finished_at).where(Tick.status == "done")
            )
            if claimed and done
        ]
        reasons = Counter(
            why_failed(e) for e in s.exec(select(Tick.error).where(Tick.status == "failed"))
        )
    print_table(table)
    totals = {k: sum(row[k] for row in table.values()) for k in metric_keys(table)}
    figures = {
        "kills": kills,
        "venues": list(VENUES),
        "orders_on_exchanges": totals["exchange"],
        "duplicates": totals["duplicates"],
        "untracked": totals["untracked"],
        "unknown_left": totals["unknown_left"],
        "never_placed_but_exists": totals["never_placed_but_exists"],
        "orders_in_database": totals["database"],
        "never_placed": totals.get("db_never_placed", 0),
        "rejected": totals.get("db_rejected", 0),
        "recorded_not_on_exchange": totals["recorded_not_on_exchange"],
        "fill_mismatches": totals["fill_mismatch"],
        "balance_mismatch_venues": [v for v in VENUES if table[v]["balance_mismatch"]],
        "ticks": dict(tick_counts),
        "tick_failures": dict(reasons.most_common(6)),
        "tick_p50_s": round(median(spans), 2),
        "candles": candles,
        "bots": len(bot_ids),
        "bot_restarts": restarts,
        "faults_injected": dict(journal.injected),
        "faults_hit": dict(journal.consumed),
        "faults_hit_on_create": dict(journal.on_create),
        "worker_own_exits": sum(len(w.own_exits) for w in workers),
        "restart_p50_s": round(median([s for w in workers for s in w.start_seconds]), 2),
        "skew_s": skew_s,
        "measured_skew_s": round(measured_skew, 1),
        "venue_clock": args.venue_clock if skew_s else "true",
        "timeout_ms": args.timeout_ms,
        "kill_phase_s": round(kill_s, 1),
        "settle_s": round(settle_s, 1),
        "seconds": round(time.monotonic() - t_start, 1),
        "seed": args.seed,
    }
    bad = [k for k in ("duplicates", "untracked", "unknown_left", "never_placed_but_exists")
           if figures[k]]  # fmt: skip
    if problems:
        forensics(rt, problems, journal, fakes, keys, workers, skew_s)
    if kills < args.kills:
        log(f"only {kills} of {args.kills} kills within {max_s:.0f}s")
    print(json.dumps(figures))
    keep["tmp"] = args.keep or bool(bad)
    return 1 if bad else 0


def stop_all(workers: list[Worker], journal: Journal) -> None:
    for worker in workers:
        worker.kill(journal, wait_s=5)


def measure_skew(rt, worker: Worker) -> float:
    """How far behind the database clock worker B's heartbeat stamps are, in seconds."""
    with rt.read() as s:
        beat = s.exec(
            select(WorkerHeartbeat.last_beat).where(WorkerHeartbeat.pid == worker.proc.pid)
        ).first()
        now_ms = read_now_ms(s)
    if beat is None:
        return float("nan")
    stamp = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
    return (now_ms - stamp.timestamp() * 1000) / 1000


def unsettled(rt) -> tuple[int, int]:
    with rt.read() as s:
        ticks = s.exec(select(Tick.id).where(col(Tick.status).in_(("queued", "running")))).all()
        orders = s.exec(select(BotOrder.id).where(col(BotOrder.status).in_(UNSETTLED))).all()
    return len(ticks), len(orders)


def why_failed(error: str) -> str:
    """A failed tick's reason without its ids and numbers (for counting)."""
    words = [w for w in error.replace(":", " ").split() if not any(c.isdigit() for c in w)]
    return " ".join(words[:6])


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 0.0


COLUMNS = (
    ("exchange", "on exchange"),
    ("database", "in database"),
    ("duplicates", "duplicates"),
    ("untracked", "untracked"),
    ("unknown_left", "unknown left"),
    ("never_placed_but_exists", "never_placed but exists"),
    ("db_never_placed", "never_placed"),
    ("db_rejected", "rejected"),
)


def metric_keys(table: dict) -> set[str]:
    keys = {k for k, _ in COLUMNS} | {"recorded_not_on_exchange", "fill_mismatch"}
    for row in table.values():
        keys |= set(row)
    return keys


def print_table(table: dict) -> None:
    widths = [max(8, len(title)) for _, title in COLUMNS]
    print("| venue | " + " | ".join(t for _, t in COLUMNS) + " |")
    print("|---|" + "|".join("---:" for _ in COLUMNS) + "|")
    for venue, row in table.items():
        cells = [f"{row[k]:>{w}}" for (k, _), w in zip(COLUMNS, widths, strict=True)]
        print(f"| {venue} | " + " | ".join(cells) + " |")
    total = Counter()
    for row in table.values():
        total.update(row)
    cells = [f"{total[k]:>{w}}" for (k, _), w in zip(COLUMNS, widths, strict=True)]
    print("| all | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
