"""Static (matplotlib) maps for print: same classes and colours as the interactive maps.

Every function mirrors one in :mod:`bcba.maps.interactive` and returns a
:class:`matplotlib.figure.Figure` (no pyplot state, Agg rendering) with the Dutch legend, a
scale bar, a north arrow, the CBS attribution and the confidentiality marking. Test and
layout code find those artists by their ``gid`` (``bcba-schaalbalk``, ``bcba-noordpijl``,
``bcba-bron``, ``bcba-markering``).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # headless; figures are built without pyplot anyway

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from bcba.config import CRS  # noqa: E402
from bcba.errors import ConfigError, CRSMismatchError  # noqa: E402
from bcba.maps import palette  # noqa: E402
from bcba.maps.offline import ATTRIBUTION, basemap_layers  # noqa: E402

#: A4 landscape in inches.
A4_LANDSCAPE = (11.69, 8.27)
GID_SCALEBAR = "bcba-schaalbalk"
GID_NORTH = "bcba-noordpijl"
GID_ATTRIBUTION = "bcba-bron"
GID_MARKING = "bcba-markering"


def _check(frame: gpd.GeoDataFrame, column: str | None = None) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ConfigError(f"Verwacht een GeoDataFrame, kreeg {type(frame).__name__}.")
    if frame.crs is None or frame.crs != CRS:
        raise CRSMismatchError(f"Kaartlaag moet in {CRS} zijn, niet in {frame.crs}.")
    if column is not None and column not in frame.columns:
        raise ConfigError(f"Kolom {column!r} niet gevonden; beschikbaar: {list(frame.columns)!r}")


def _nice_length(target: float) -> float:
    exponent = math.floor(math.log10(target))
    for factor in (5, 2, 1):
        if factor * 10**exponent <= target:
            return factor * 10**exponent
    return 10**exponent


def add_scalebar(ax: Axes, *, fraction: float = 0.2) -> float:
    """Draw a two-segment scale bar (RD metres) at the lower left; return its length in m."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width, height = x1 - x0, y1 - y0
    length = _nice_length(width * fraction)
    bx, by, bh = x0 + 0.03 * width, y0 + 0.04 * height, 0.012 * height
    for i, colour in enumerate(("#000000", "#ffffff")):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 2, by),
                length / 2,
                bh,
                facecolor=colour,
                edgecolor="#000000",
                linewidth=0.8,
                zorder=20,
                gid=GID_SCALEBAR,
            )
        )
    label = (
        f"{palette.format_number_nl(length / 1000, 0 if length >= 1000 else 1)} km"
        if length >= 1000
        else f"{palette.format_number_nl(length, 0)} m"
    )
    ax.text(
        bx + length / 2,
        by + bh * 1.6,
        label,
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=20,
        gid=GID_SCALEBAR,
    )
    return length


def add_north_arrow(ax: Axes) -> None:
    """Draw a north arrow at the upper right (RD grid north ≈ true north here)."""
    ax.annotate(
        "N",
        xy=(0.96, 0.95),
        xytext=(0.96, 0.85),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 10, "headlength": 10},
        zorder=20,
        gid=GID_NORTH,
    )


def _figure(titel: str, *, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    fig = Figure(figsize=figsize, layout=None)
    ax = fig.add_axes((0.02, 0.06, 0.96, 0.84))
    ax.set_axis_off()
    fig.text(
        0.5,
        0.975,
        palette.MARKING,
        ha="center",
        va="top",
        fontsize=11,
        fontweight="bold",
        color=palette.MARKING_COLOUR,
        gid=GID_MARKING,
    )
    fig.text(0.02, 0.925, titel, ha="left", va="bottom", fontsize=14, fontweight="bold")
    fig.text(
        0.02,
        0.015,
        ATTRIBUTION,
        ha="left",
        va="bottom",
        fontsize=7,
        color="#444444",
        gid=GID_ATTRIBUTION,
    )
    return fig, ax


def polygon_paths(geometries: np.ndarray) -> tuple[list[Path], np.ndarray]:
    """One matplotlib compound path per (Multi)Polygon, built from shapely's coordinate arrays.

    The paths are those of geopandas' ``plot`` (normalised rings, every ring a
    ``MOVETO ... CLOSEPOLY`` sub-path, holes and all parts of a multipolygon in one path),
    but built from a few array operations instead of one patch object per polygon, which
    made the Rotterdam maps slow. Missing and empty geometries are skipped, as geopandas does.

    Returns
    -------
    paths, kept
        The paths and the positions (in ``geometries``) they belong to.
    """
    geometries = np.asarray(geometries, dtype=object)
    kept = np.flatnonzero(~(shapely.is_missing(geometries) | shapely.is_empty(geometries)))
    if not len(kept):
        return [], kept
    parts, owner = shapely.get_parts(shapely.normalize(geometries[kept]), return_index=True)
    _kind, coords, (ring_offsets, part_offsets) = shapely.to_ragged_array(parts)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[ring_offsets[:-1]] = Path.MOVETO
    codes[ring_offsets[1:] - 1] = Path.CLOSEPOLY
    # where each geometry's first part (and so its first coordinate) begins
    first_part = np.searchsorted(owner, np.arange(len(kept)))
    cuts = ring_offsets[part_offsets[first_part[1:]]]
    paths = [Path(v, c) for v, c in zip(np.split(coords, cuts), np.split(codes, cuts), strict=True)]
    return paths, kept


def draw_polygons(
    ax: Axes,
    frame: gpd.GeoDataFrame,
    *,
    facecolor: str | Sequence[str],
    edgecolor: str = "none",
    linewidth: float | None = None,
    alpha: float | None = None,
    zorder: float = 1,
) -> PathCollection | None:
    """Draw a polygon layer as one collection (what ``frame.plot(ax=ax, color=...)`` draws).

    ``facecolor`` is one colour or one per row; rows with a missing or empty geometry are
    left out. Returns the collection, or ``None`` when there is nothing to draw.
    """
    paths, kept = polygon_paths(frame.geometry.values)
    if not paths:
        return None
    if not isinstance(facecolor, str):
        facecolor = [facecolor[i] for i in kept]
    collection = PathCollection(
        paths,
        facecolor=facecolor,
        edgecolor=edgecolor,
        linewidth=linewidth,
        alpha=alpha,
        zorder=zorder,
    )
    ax.add_collection(collection)
    return collection


def _draw_base(
    ax: Axes, layers: Mapping[str, gpd.GeoDataFrame | None], data: gpd.GeoDataFrame
) -> None:
    outline, water = layers["outline"], layers["water"]
    if outline is not None:
        draw_polygons(ax, outline, facecolor=palette.LAND_COLOUR, zorder=1)
    if water is not None and len(water):
        draw_polygons(ax, water, facecolor=palette.WATER_COLOUR, zorder=2)
    extent = outline if outline is not None else data
    xmin, ymin, xmax, ymax = extent.total_bounds
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        xmin, ymin, xmax, ymax = data.total_bounds
    pad = 0.04 * max(xmax - xmin, ymax - ymin, 1.0)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal", adjustable="box")


def _draw_top(ax: Axes, layers: Mapping[str, gpd.GeoDataFrame | None]) -> None:
    if layers["wijken"] is not None:
        layers["wijken"].boundary.plot(
            ax=ax, color=palette.WIJK_BORDER_COLOUR, linewidth=0.6, linestyle=(0, (4, 3)), zorder=8
        )
    if layers["outline"] is not None:
        layers["outline"].boundary.plot(
            ax=ax, color=palette.OUTLINE_COLOUR, linewidth=1.4, zorder=9
        )


def _finish(
    fig: Figure, ax: Axes, entries: Sequence[tuple[str, str]], *, title: str, marker: bool = False
) -> Figure:
    if marker:
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=8,
                markerfacecolor=c,
                markeredgecolor="#333333",
                label=lab,
            )
            for lab, c in entries
        ]
    else:
        handles = [Patch(facecolor=c, edgecolor="#777777", label=lab) for lab, c in entries]
    ax.legend(
        handles=handles,
        title=title,
        loc="lower right",
        fontsize=8,
        title_fontsize=9,
        framealpha=0.92,
    )
    add_scalebar(ax)
    add_north_arrow(ax)
    return fig


def _polygons(ax: Axes, frame: gpd.GeoDataFrame, colours: np.ndarray, alpha: float) -> None:
    draw_polygons(
        ax,
        frame,
        facecolor=list(colours),
        edgecolor="#555555",
        linewidth=0.3,
        alpha=alpha,
        zorder=5,
    )


def buurt_choropleth_figure(
    buurten: gpd.GeoDataFrame,
    column: str,
    *,
    titel: str,
    legend_title: str | None = None,
    basemap: Mapping | None = None,
    method: str = "quantile",
    k: int = 5,
    breaks: Sequence[float] | None = None,
    decimals: int = 1,
    figsize: tuple[float, float] = A4_LANDSCAPE,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.buurt_choropleth` (same classes/colours)."""
    _check(buurten, column)
    classes = palette.score_classes(
        buurten[column], method=method, k=k, breaks=breaks, decimals=decimals
    )
    labels = classes.assign(buurten[column])
    layers = basemap_layers(**dict(basemap or {}))
    fig, ax = _figure(titel, figsize=figsize)
    _draw_base(ax, layers, buurten)
    _polygons(ax, buurten, classes.colour_of(labels), 0.85)
    _draw_top(ax, layers)
    has_missing = any(lab is None for lab in labels)
    return _finish(
        fig, ax, classes.legend_entries(include_no_data=has_missing), title=legend_title or column
    )


def risk_surface_figure(
    cellen: gpd.GeoDataFrame,
    *,
    titel: str,
    column: str = "relatief_risico",
    basemap: Mapping | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.risk_surface_map` (squares with risk > 1)."""
    _check(cellen, column)
    classes = palette.risk_classes()
    above = cellen[pd.to_numeric(cellen[column], errors="coerce") > 1.0]
    layers = basemap_layers(**dict(basemap or {}))
    fig, ax = _figure(titel, figsize=figsize)
    _draw_base(ax, layers, cellen)
    _polygons(ax, above, classes.colour_of(classes.assign(above[column])), 0.9)
    _draw_top(ax, layers)
    return _finish(fig, ax, classes.legend_entries(), title=classes.title)


def hotspot_figure(
    frame: gpd.GeoDataFrame,
    *,
    titel: str,
    klasse_column: str | None = "gi_klasse",
    z_column: str = "gi_z",
    p_column: str = "gi_p",
    basemap: Mapping | None = None,
    show_not_significant: bool = True,
    figsize: tuple[float, float] = A4_LANDSCAPE,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.hotspot_map`."""
    _check(frame)
    classes = palette.gistar_classes()
    if klasse_column and klasse_column in frame.columns:
        labels = classes.assign(frame[klasse_column])
    elif z_column in frame.columns and p_column in frame.columns:
        labels = palette.gistar_label(frame[z_column], frame[p_column])
    else:
        raise ConfigError(
            f"Geef een klassekolom ({klasse_column!r}) of z- en p-kolommen "
            f"({z_column!r}, {p_column!r}); beschikbaar: {list(frame.columns)!r}"
        )
    keep = np.ones(len(frame), dtype=bool) if show_not_significant else labels != "Niet significant"
    layers = basemap_layers(**dict(basemap or {}))
    fig, ax = _figure(titel, figsize=figsize)
    _draw_base(ax, layers, frame)
    _polygons(ax, frame[keep], classes.colour_of(labels[keep]), 0.9)
    _draw_top(ax, layers)
    return _finish(fig, ax, classes.legend_entries(), title=classes.title)


def risk_locations_figure(
    locaties: gpd.GeoDataFrame,
    *,
    titel: str,
    flag_column: str = "flag",
    basemap: Mapping | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.risk_locations_map` (no clustering)."""
    _check(locaties, flag_column)
    first = locaties[flag_column].astype(str).str.split(";").str[0].str.strip()
    classes = palette.flag_classes(first.unique().tolist())
    colours = classes.colour_of(palette.flag_label(first.to_numpy()))
    layers = basemap_layers(**dict(basemap or {}))
    fig, ax = _figure(titel, figsize=figsize)
    _draw_base(ax, layers, locaties)
    _draw_top(ax, layers)
    if len(locaties):
        ax.scatter(
            locaties.geometry.x,
            locaties.geometry.y,
            s=36,
            c=list(colours),
            edgecolors="#333333",
            linewidths=0.6,
            zorder=12,
        )
    return _finish(fig, ax, classes.legend_entries(), title=classes.title, marker=True)


#: zlib level of the PNG maps: 1 encodes a map in about half the time of PIL's default 6
#: for about 20 % more bytes (lossless either way: the pixels are the same).
PNG_COMPRESS_LEVEL = 1


def figure_to_png_bytes(fig: Figure, *, dpi: int = 150) -> bytes:
    """Render a figure to PNG bytes (Agg, white background, fast lossless compression)."""
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=dpi,
        facecolor="white",
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buffer.getvalue()


def figure_to_base64(fig: Figure, *, dpi: int = 150) -> str:
    """A figure as a base64 PNG string (for ``data:image/png;base64,...``)."""
    return base64.b64encode(figure_to_png_bytes(fig, dpi=dpi)).decode("ascii")
