"""Numbers as people read them: the Ministry's money figures, percentages, separators, and exact JSON.

One place for every printed figure, so the CLI, the export, the report, the receipts and the Prefect
artifact say 84.00亿元 alike. Values come from the warehouse as ``int``, ``float`` or ``decimal.Decimal``
(money is DECIMAL(18,2) yuan, rates are fractions); nothing here rounds a stored value, only its text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

Number = int | float | Decimal

YI = Decimal(100_000_000)
WAN = Decimal(10_000)


def is_number(value: Any) -> bool:
    """True for int, float and Decimal cells; a bool is not a number here."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def exact(value: Number) -> Decimal:
    """The value as a Decimal with no binary noise added: floats through their shortest repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def wan_yuan(yuan: Number) -> Decimal:
    """Yuan in 万元, exactly (183995600 → 18399.56)."""
    return exact(yuan) / WAN


def percent(fraction: Number) -> Decimal:
    """A fraction in percent, exactly (0.257 → 25.7)."""
    return exact(fraction) * 100


def yuan_text(yuan: Number | None) -> str:
    """Money as the Ministry prints it: 亿元 with two decimals from 1亿 up, else 万元 with one (5,430.9万元)."""
    if yuan is None:
        return ""
    amount = exact(yuan)
    if abs(amount) >= YI:
        return f"{amount / YI:,.2f}亿元"
    return f"{amount / WAN:,.1f}万元"


def wan_yuan_text(yuan: Number) -> str:
    """Money in 万元 to the hundred yuan, for totals compared side by side (1,234.56万元)."""
    return f"{wan_yuan(yuan):,.2f}万元"


def figure_text(value: Number | bool | None, unit: str, unit_name: str | None = None) -> str:
    """A figure as one printed string: 84.00亿元, 24.00%, 1,003, 是/否; ``unit_name`` (人, 期 …) appended to counts."""
    if value is None:
        return ""
    if unit == "yuan":
        if unit_name and "/" in unit_name:  # an amount per something (元/户): in yuan, as it is set
            return f"{exact(value):,.0f}{unit_name}"  # type: ignore[arg-type]
        return yuan_text(value)  # type: ignore[arg-type]
    if unit == "fraction":
        return f"{percent(value):.2f}%"  # type: ignore[arg-type]
    if unit == "boolean":
        return "是" if value else "否"
    return f"{exact(value):,.0f}{unit_name or ''}"  # type: ignore[arg-type]


def number_text(value: Number) -> str:
    """A stored number with thousands separators and every digit it has: 8,400,000,000.00, 0.2399999832880371."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return f"{exact(value):,f}"


# the places an exact figure is written with, by unit: yuan to the fen, fractions to 6 places, counts whole
_PLACES = {"yuan": Decimal("0.01"), "fraction": Decimal("0.000001")}


def exact_text(value: Number | None, unit: str | None) -> str | None:
    """A stored figure as exact text in its base unit, no separators: '8400000000.00' (yuan), '0.240000'
    (a fraction), '1003' (persons, counts, 1/0); None for None. Nothing is rounded that the warehouse keeps:
    yuan are stored to the fen, rates to 6 places, counts whole."""
    if value is None:
        return None
    return f"{exact(value).quantize(_PLACES.get(unit or '', Decimal(1))):f}"


def json_value(value: Any) -> Any:
    """``json.dumps(default=json_value)``: Decimals as JSON numbers with the same digits, anything else as text.

    A whole Decimal becomes an int; another one a float when that float prints the same digits (every
    DECIMAL(18,2) amount under 10^13 yuan does), else its text, so no digit is ever changed.
    """
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    return str(value)
