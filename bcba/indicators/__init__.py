"""Indicators of the B-CBA: opportunity structures, KvK/Kadaster flags, survey, partner events,
vulnerability, composite scores with their decomposition, risk locations and signals.

The entry point is :func:`compute_indicators`; see docs/method.md for the method.
"""

from bcba.indicators.run import (
    IndicatorConfig,
    IndicatorResults,
    build_indicators,
    compute_indicators,
    to_geopackage,
    write_results,
)

__all__ = [
    "IndicatorConfig",
    "IndicatorResults",
    "build_indicators",
    "compute_indicators",
    "to_geopackage",
    "write_results",
]
