"""What a guest trader of the public demo may do (STEADYBOT_PUBLIC_DEMO): the numbers in one
place, read by the packages that enforce them (users, bots, accounts, backtest)."""

from __future__ import annotations

GUEST_HOURS = 24  # a guest, and everything it owns, is deleted this long after it was made
GUEST_BOTS = 3  # bots a guest may have (archived ones included)
GUEST_PAPER_ACCOUNTS = 2  # paper accounts a guest may open (the one it starts with counts)
GUEST_SWEEP_RUNS = 50  # backtests in one parameter sweep of a guest (others: 400)
GUESTS_MAX = 300  # guests alive at once; the next visitor is asked to come back later
GUESTS_PER_ADDRESS_HOUR = 5  # new guests from one client address in an hour
