"""Bots: a bot's settings, checked (`spec`), and its life (`lifecycle`): creation, editing
while stopped, status transitions, closing a position, the event log.

Face: everything other packages, the UI and the CLI use.
"""

from core.bots.lifecycle import (
    ACCOUNT_DELETED_REASON,
    EDITABLE_WHEN,
    KEY_REENTRY_REASON,
    add_event,
    change_status,
    close_position,
    create_bot,
    events,
    get_bot,
    list_bots,
    pause_for_key_reentry,
    request_exit_now,
    set_status,
    spec_values,
    stop_for_deleted_account,
    update_bot,
)
from core.bots.spec import (
    SHARED_SETTINGS,
    BotSpec,
    MarketLookup,
    clean_risk,
    risk_problems,
    spec_problems,
    validate_spec,
)

__all__ = [
    "ACCOUNT_DELETED_REASON",
    "EDITABLE_WHEN",
    "KEY_REENTRY_REASON",
    "SHARED_SETTINGS",
    "BotSpec",
    "MarketLookup",
    "add_event",
    "change_status",
    "clean_risk",
    "close_position",
    "create_bot",
    "events",
    "get_bot",
    "list_bots",
    "pause_for_key_reentry",
    "request_exit_now",
    "risk_problems",
    "set_status",
    "spec_problems",
    "spec_values",
    "stop_for_deleted_account",
    "update_bot",
    "validate_spec",
]
