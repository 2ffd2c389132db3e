"""The one definition of map classes and colours, shared by interactive and static maps.

Both :mod:`bcba.maps.interactive` (folium) and :mod:`bcba.maps.static` (matplotlib) take
their classes, colours and Dutch legend labels from here, so the printed map book and the
interactive report always show the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bcba.errors import ConfigError

#: Colour of areas without a value ("geen gegevens").
NO_DATA_COLOUR = "#d9d9d9"
NO_DATA_LABEL = "Geen gegevens"
#: Neutral basemap colours (bcba.maps.basemap): quiet enough for the data on top.
OUTLINE_COLOUR = "#333333"
WIJK_BORDER_COLOUR = "#7a7a7a"
BUURT_BORDER_COLOUR = "#b5b5b5"
LAND_COLOUR = "#fbfaf7"
WATER_COLOUR = "#aecfe8"
NEIGHBOUR_COLOUR = "#e3e3e3"
BUILT_UP_COLOUR = "#ebe5da"
BUILDING_COLOUR = "#d9d1c4"
ROAD_COLOUR = "#ffffff"
ROAD_LINE_COLOUR = "#9a8f80"
#: The confidentiality marking shown on every map, page and section.
MARKING = "STRIKT VERTROUWELIJK"
MARKING_COLOUR = "#b00020"

#: Sequential colours for scores (ColorBrewer YlOrRd), by number of classes.
SCORE_COLOURS: dict[int, tuple[str, ...]] = {
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
    6: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"),
    7: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
}

#: Relative risk classes of the risk terrain model (only risk > 1 is drawn).
RISK_BREAKS: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, math.inf)
RISK_COLOURS: tuple[str, ...] = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")

#: Getis-Ord Gi* classes, hottest first (ColorBrewer RdBu, diverging).
GISTAR_CLASSES: dict[str, str] = {
    "Hot spot 99%": "#b2182b",
    "Hot spot 95%": "#ef8a62",
    "Hot spot 90%": "#fddbc7",
    "Niet significant": "#f0f0f0",
    "Cold spot 90%": "#d1e5f0",
    "Cold spot 95%": "#67a9cf",
    "Cold spot 99%": "#2166ac",
}

#: Flag ids (docs/architecture.md) with a Dutch label and a marker colour. KvK flags are
#: blue/green shades, Kadaster flags orange/brown, network flags purple/red.
FLAGS: dict[str, tuple[str, str]] = {
    "KVK_VEEL_INSCHRIJVINGEN": ("Veel inschrijvingen op één adres", "#1f78b4"),
    "KVK_VERLOOP_ADRES": ("Hoog verloop van inschrijvingen", "#a6cee3"),
    "KVK_NIEUW_RISICOBRANCHE": ("Nieuw in risicobranche", "#33a02c"),
    "KVK_WOONADRES": ("Bedrijf op woonadres", "#b2df8a"),
    "KVK_KORT_BESTAAN": ("Kortbestaand bedrijf", "#17becf"),
    "KVK_FUNCTIONARIS_VEEL": ("Functionaris met veel bedrijven", "#08519c"),
    "KAD_ABC": ("Snelle doorverkoop (ABC)", "#ff7f00"),
    "KAD_PRIJS_WOZ": ("Koopsom wijkt af van WOZ", "#fdbf6f"),
    "KAD_ZONDER_HYPOTHEEK": ("Aankoop zonder hypotheek", "#b15928"),
    "KAD_JONGE_RECHTSPERSOON": ("Koper is jonge rechtspersoon", "#e6ab02"),
    "KAD_VEEL_AANKOPEN": ("Koper met veel aankopen", "#8c510a"),
    "NET_STROMAN": ("Mogelijke stroman", "#6a3d9a"),
    "NET_ADRES_HUB": ("Adres als knooppunt", "#cab2d6"),
    "NET_CARROUSEL": ("Vastgoedcarrousel", "#e31a1c"),
    "NET_VASTGOED_JONGE_BV": ("Vastgoed via jonge bv", "#fb9a99"),
    "NET_GEDEELDE_FUNCTIONARIS": ("Gedeelde functionaris", "#7a0177"),
}
OTHER_FLAG_COLOUR = "#636363"


def format_number_nl(value: float | int | None, decimals: int = 0) -> str:
    """Format a number the Dutch way: ``1.234,5`` (thousands dot, decimal comma).

    Missing values give ``"–"``; infinity gives ``"∞"``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


@dataclass(frozen=True)
class Classes:
    """Ordered map classes: Dutch labels, colours and (for numeric classes) upper bounds.

    ``breaks[i]`` is the inclusive upper bound of class ``i``; the lower bound of class 0 is
    ``lower`` (exclusive when ``lower_open``). Categorical classes have no breaks.
    """

    labels: tuple[str, ...]
    colours: tuple[str, ...]
    breaks: tuple[float, ...] = ()
    lower: float = -math.inf
    lower_open: bool = False
    title: str = ""

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.colours):
            raise ConfigError("Aantal klassenlabels en kleuren verschilt.")
        if self.breaks and len(self.breaks) != len(self.labels):
            raise ConfigError("Aantal klassengrenzen en labels verschilt.")

    @property
    def categorical(self) -> bool:
        return not self.breaks

    def assign(self, values: Sequence | pd.Series | np.ndarray) -> np.ndarray:
        """The class label of each value (``None`` for missing or out-of-range values)."""
        if self.categorical:
            known = pd.Series(values, dtype="object").where(
                pd.Series(values, dtype="object").isin(self.labels)
            )
            return np.asarray(known.astype(object).where(known.notna(), None), dtype=object)
        arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        idx = np.searchsorted(np.asarray(self.breaks, dtype=float), arr, side="left")
        valid = ~np.isnan(arr) & (idx < len(self.labels))
        valid &= (arr > self.lower) if self.lower_open else (arr >= self.lower)
        out = np.full(arr.shape, None, dtype=object)
        out[valid] = np.asarray(self.labels, dtype=object)[idx[valid]]
        return out

    def colour_of(self, labels: Sequence | np.ndarray) -> np.ndarray:
        """The colour of each class label (:data:`NO_DATA_COLOUR` for ``None``)."""
        lookup = dict(zip(self.labels, self.colours, strict=True))
        return np.array([lookup.get(lab, NO_DATA_COLOUR) for lab in labels], dtype=object)

    def legend_entries(self, *, include_no_data: bool = False) -> list[tuple[str, str]]:
        """``(label, colour)`` pairs in legend order, as used by both map kinds."""
        entries = list(zip(self.labels, self.colours, strict=True))
        if include_no_data:
            entries.append((NO_DATA_LABEL, NO_DATA_COLOUR))
        return entries


def _range_labels(lower: float, breaks: Sequence[float], decimals: int) -> tuple[str, ...]:
    labels = []
    lo = lower
    for hi in breaks:
        if math.isinf(hi):
            labels.append(f"meer dan {format_number_nl(lo, decimals)}")
        elif math.isinf(lo):
            labels.append(f"t/m {format_number_nl(hi, decimals)}")
        else:
            labels.append(f"{format_number_nl(lo, decimals)} – {format_number_nl(hi, decimals)}")
        lo = hi
    return tuple(labels)


def score_classes(
    values: Sequence | pd.Series | np.ndarray,
    *,
    method: str = "quantile",
    k: int = 5,
    breaks: Sequence[float] | None = None,
    decimals: int = 1,
    title: str = "",
) -> Classes:
    """Classes for a score column: quantile breaks, or fixed upper bounds.

    Parameters
    ----------
    values
        The scores (missing values are ignored).
    method
        ``"quantile"`` (k classes with about equal numbers of areas; duplicate breaks are
        merged) or ``"fixed"`` (use ``breaks``).
    k
        Number of quantile classes, 3 to 7.
    breaks
        Upper bounds for ``method="fixed"``, increasing; the last should cover the maximum.
    decimals
        Decimals in the Dutch legend labels.
    title
        Legend title.

    Raises
    ------
    ConfigError
        For an unknown method, a k outside 3..7 or non-increasing breaks.
    """
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    arr = arr[~np.isnan(arr)]
    if method == "quantile":
        if k not in SCORE_COLOURS:
            raise ConfigError(f"k moet tussen 3 en 7 liggen, niet {k!r}")
        if arr.size == 0:
            uppers = [math.inf]
        else:
            qs = np.quantile(arr, np.linspace(0, 1, k + 1)[1:])
            uppers = list(np.unique(qs))
        lower = float(arr.min()) if arr.size else -math.inf
    elif method == "fixed":
        if not breaks:
            raise ConfigError("method='fixed' vraagt om 'breaks' (oplopende bovengrenzen).")
        uppers = [float(b) for b in breaks]
        if any(b2 <= b1 for b1, b2 in zip(uppers, uppers[1:], strict=False)):
            raise ConfigError(f"breaks moeten strikt oplopen, kreeg {list(breaks)!r}")
        if len(uppers) not in SCORE_COLOURS:
            raise ConfigError(f"3 tot 7 klassen toegestaan, kreeg {len(uppers)}")
        lower = -math.inf
    else:
        raise ConfigError(f"method moet 'quantile' of 'fixed' zijn, niet {method!r}")
    n = len(uppers)
    palette = SCORE_COLOURS.get(max(n, 3))
    colours = palette[-n:] if n < 3 else palette
    labels = _range_labels(lower, uppers, decimals)
    return Classes(
        labels=labels, colours=tuple(colours), breaks=tuple(uppers), lower=lower, title=title
    )


def risk_classes() -> Classes:
    """Fixed classes of relative risk (> 1 = more than average), for the risk surface."""
    labels = (
        "1 – 1,5× gemiddeld",
        "1,5 – 2× gemiddeld",
        "2 – 3× gemiddeld",
        "3 – 5× gemiddeld",
        "meer dan 5× gemiddeld",
    )
    return Classes(
        labels=labels,
        colours=RISK_COLOURS,
        breaks=RISK_BREAKS,
        lower=1.0,
        lower_open=True,
        title="Relatief risico",
    )


def gistar_classes() -> Classes:
    """The categorical Gi* hot spot classes with their Dutch labels."""
    return Classes(
        labels=tuple(GISTAR_CLASSES),
        colours=tuple(GISTAR_CLASSES.values()),
        title="Hot spots (Getis-Ord Gi*)",
    )


def gistar_label(z: Sequence | np.ndarray, p: Sequence | np.ndarray) -> np.ndarray:
    """Gi* class label from z-scores and p-values (two-sided, 90/95/99 % confidence)."""
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    conf = np.select([p <= 0.01, p <= 0.05, p <= 0.10], ["99%", "95%", "90%"], default="")
    kind = np.where(z > 0, "Hot spot ", "Cold spot ")
    out = np.where(conf == "", "Niet significant", np.char.add(kind, conf))
    out = out.astype(object)
    out[np.isnan(z) | np.isnan(p)] = None
    return out


def flag_classes(flags: Sequence[str] | None = None) -> Classes:
    """Categorical classes for risk location markers, one per flag id present."""
    ids = list(FLAGS) if flags is None else sorted(set(flags), key=_flag_order)
    labels = tuple(FLAGS.get(f, (f, ""))[0] for f in ids)
    colours = tuple(FLAGS.get(f, ("", OTHER_FLAG_COLOUR))[1] for f in ids)
    return Classes(labels=labels, colours=colours, title="Soort risicosignaal")


def flag_label(flags: Sequence[str] | np.ndarray) -> np.ndarray:
    """The Dutch label of each flag id (unknown ids are shown as they are)."""
    return np.array([FLAGS.get(f, (f, ""))[0] for f in flags], dtype=object)


def _flag_order(flag: str) -> tuple[int, str]:
    order = list(FLAGS)
    return (order.index(flag), flag) if flag in FLAGS else (len(order), flag)
