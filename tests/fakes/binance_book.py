"""Binance's view of the shared book: its markets' filters and its order JSON."""

from __future__ import annotations

from tests.fakes.book import MARKETS, Book, Key, Order, Rules, default_prices

__all__ = ["MARKETS", "Book", "Key", "default_prices", "exchange_info", "render", "rules"]

STATUS = {"open": "NEW", "filled": "FILLED", "canceled": "CANCELED"}


def rules(symbol: str) -> Rules:
    _base, _quote, _lvl, tick, step, min_qty, min_notional = MARKETS[symbol]
    return Rules(tick=tick, step=step, min_qty=min_qty, min_notional=min_notional)


def render(order: Order, *, transact: bool = False) -> dict:
    """An order as GET/POST/DELETE /api/v3/order answer it (fills included, as the old fake)."""
    out = {
        "symbol": order.symbol,
        "orderId": order.id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "time": order.created,
        "updateTime": order.updated,
        "price": f"{order.price:.8f}" if order.kind == "limit" else "0.00000000",
        "origQty": order.qty_text,
        "executedQty": order.qty_text if order.status == "filled" else "0.00000000",
        "cummulativeQuoteQty": f"{order.cost:.8f}",
        "origQuoteOrderQty": f"{order.quote_qty:.8f}",  # quoteOrderQty as sent, else 0
        "status": STATUS[order.status],
        "timeInForce": order.extra.get("timeInForce", "GTC"),
        "type": order.kind.upper(),
        "side": order.side.upper(),
        "workingTime": order.created,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "fills": [],
    }
    if transact:
        out["transactTime"] = order.created
    if order.status == "filled":
        out["fills"] = [
            {
                "price": f"{order.avg:.8f}",
                "qty": order.qty_text,
                "commission": f"{order.fee:.8f}",
                "commissionAsset": order.quote,
            }
        ]
    return out


def exchange_info(now: int) -> dict:
    symbols = []
    for symbol, (base, quote, _lvl, tick, step, min_qty, min_notional) in MARKETS.items():
        symbols.append(
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "icebergAllowed": False,
                "ocoAllowed": False,
                "quoteOrderQtyMarketAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "permissionSets": [["SPOT"]],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": tick,
                        "maxPrice": "10000000",
                        "tickSize": tick,
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": min_qty,
                        "maxQty": "9000000",
                        "stepSize": step,
                    },
                    {
                        "filterType": "NOTIONAL",
                        "minNotional": min_notional,
                        "applyMinToMarket": True,
                        "maxNotional": "9000000",
                        "applyMaxToMarket": False,
                        "avgPriceMins": 5,
                    },
                ],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    }
