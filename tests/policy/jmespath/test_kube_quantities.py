"""The private quantity reader: Kubernetes' internal form and canonical text."""

from __future__ import annotations

import pytest

from bot.policy.jmespath import kube_quantities
from bot.policy.jmespath.kube_quantities import BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI


@pytest.mark.parametrize(
    ("text", "unscaled", "exponent", "fmt"),
    [
        ("0", 0, 0, DECIMAL_SI),
        ("12Ki", 12288, 0, BINARY_SI),
        ("100Mi", 104857600, 0, BINARY_SI),
        ("500m", 500, -3, DECIMAL_SI),
        ("1.5", 15, -1, DECIMAL_SI),
        ("0.5", 5, -1, DECIMAL_SI),
        ("1e3", 1, 3, DECIMAL_EXPONENT),
        ("1e+06", 1, 6, DECIMAL_EXPONENT),
        ("-2k", -2, 3, DECIMAL_SI),
        ("+7", 7, 0, DECIMAL_SI),
        ("-", 0, 0, DECIMAL_SI),
        (".", 0, 0, DECIMAL_SI),
        # Binary with a fraction, and anything finer than nano, take the slow
        # path: rounded up to whole nano-units, held at scale 9.
        ("1.5Gi", 1610612736000000000, -9, BINARY_SI),
        ("1e-10", 1, -9, DECIMAL_EXPONENT),
        ("0.5Ki", 512000000000, -9, BINARY_SI),
        ("0.0001Ki", 102400000, -9, DECIMAL_SI),
        ("16Ei", 2**63 - 1, 0, BINARY_SI),
    ],
)
def test_parse_keeps_the_kubernetes_form(text: str, unscaled: int, exponent: int, fmt: str) -> None:
    quantity = kube_quantities.parse_quantity(text)

    assert quantity == kube_quantities.Quantity(unscaled, exponent, fmt)


@pytest.mark.parametrize("text", ["", "1K", "1.5.5", "abc", "1Mib", "1e", "1ee3", "1 Mi", "Mi-"])
def test_parse_rejects_what_kubernetes_rejects(text: str) -> None:
    assert kube_quantities.parse_quantity(text) is None


@pytest.mark.parametrize(
    ("unscaled", "exponent", "fmt", "expected"),
    [
        (0, 0, BINARY_SI, "0"),
        (1024, 0, BINARY_SI, "1Ki"),
        (-1024, 0, BINARY_SI, "-1Ki"),
        (1023, 0, BINARY_SI, "1023"),
        (1025, 0, BINARY_SI, "1025"),
        (15, -1, BINARY_SI, "1500m"),
        (2**70, 0, BINARY_SI, "1"),  # no suffix beyond Ei: Kubernetes misprints
        (1000, 0, DECIMAL_SI, "1k"),
        (1500, 0, DECIMAL_SI, "1500"),
        (15, -2, DECIMAL_SI, "150m"),
        (1, -10, DECIMAL_SI, "100"),
        (1, 21, DECIMAL_SI, "1"),
        (12, 2, DECIMAL_EXPONENT, "1200"),
        (12, 3, DECIMAL_EXPONENT, "12e3"),
        (5, -1, DECIMAL_EXPONENT, "500e-3"),
    ],
)
def test_format_is_canonical(unscaled: int, exponent: int, fmt: str, expected: str) -> None:
    assert kube_quantities.format_quantity(unscaled, exponent, fmt) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("128M", 1.28e8), ("12Ki", 12288.0), ("100m", 0.1), ("1.5Gi", 1610612736.0)],
)
def test_approximate_float_follows_go(text: str, expected: float) -> None:
    quantity = kube_quantities.parse_quantity(text)

    assert quantity is not None
    assert quantity.approximate_float() == expected
