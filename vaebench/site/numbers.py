"""How the report writes a number."""

from __future__ import annotations

import math


def significant(value: float, digits: int = 3) -> str:
    """``value`` rounded to ``digits`` significant digits, written out without an exponent and with a true
    minus sign (a hyphen reads as a dash in a range): 0.0150, 63.0, 1230, −83.9."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits}g}")
    decimals = digits - 1 - math.floor(math.log10(abs(rounded)))
    return f"{rounded:.{max(decimals, 0)}f}".replace("-", "\u2212")


def two_decimals(value: float) -> str:
    """A share, probability or correlation to two decimals, with a true minus sign (ω² and τ can be below 0)."""
    return f"{value:.2f}".replace("-", "\u2212")


def p_value(p: float) -> str:
    """A p-value as the report writes it: "p = 0.15", "p = 0.0040" (two significant digits below 0.1), "p < 0.0001"."""
    if p < 1e-4:
        return "p < 0.0001"
    return f"p = {p:.2f}" if p >= 0.1 else f"p = {significant(p, 2)}"
