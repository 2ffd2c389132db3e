"""Static (matplotlib) maps for print: same classes and colours as the interactive maps.

Every function mirrors one in :mod:`bcba.maps.interactive` and returns a
:class:`matplotlib.figure.Figure` (no pyplot state, Agg rendering) with the Dutch legend, a
scale bar, a north arrow, the CBS attribution and the confidentiality marking. Test and
layout code find those artists by their ``gid`` (``bcba-schaalbalk``, ``bcba-noordpijl``,
``bcba-bron``, ``bcba-markering``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from collections.abc import Mapping, Sequence

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # headless; figures are built without pyplot anyway

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from bcba.config import CRS  # noqa: E402
from bcba.errors import ConfigError, CRSMismatchError  # noqa: E402
from bcba.maps import palette  # noqa: E402
from bcba.maps.basemap import Basemap, coerce_basemap  # noqa: E402
from bcba.maps.offline import ATTRIBUTION  # noqa: E402

#: A4 landscape in inches.
A4_LANDSCAPE = (11.69, 8.27)
GID_SCALEBAR = "bcba-schaalbalk"
GID_NORTH = "bcba-noordpijl"
GID_ATTRIBUTION = "bcba-bron"
GID_MARKING = "bcba-markering"
GID_LABEL = "bcba-label"
GID_LEGEND = "bcba-legenda"


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


#: Label styles of the print maps. Sizes are points on A4 landscape; the report shows the
#: same picture at about 57 % of that width, so nothing is smaller than 7.5 pt here.
LABEL_STYLE: dict[str, dict] = {
    "gemeente": {"fontsize": 9.5, "color": "#6f6f6f", "fontstyle": "italic"},
    "wijk": {"fontsize": 10.0, "color": "#262626", "fontweight": "bold"},
    "buurt": {"fontsize": 8.0, "color": "#4a4a4a", "fontstyle": "italic"},
    "straat": {"fontsize": 7.5, "color": "#5b4636"},
}
#: How far a label may reach beyond the room of its area (inscribed circle) or street.
LABEL_FIT: dict[str, float] = {"gemeente": 3.0, "wijk": 2.5, "buurt": 1.5, "straat": 1.3}
_LABEL_PAD_PX = 3.0
#: Radius of a location marker (points; ``scatter`` size 36 is a 6 pt wide dot).
POINT_RADIUS_PT = 3.0
#: Width of the legend column at the right of a print map (inches).
LEGEND_COLUMN_IN = 2.6
_HALO = [patheffects.withStroke(linewidth=2.4, foreground="white", alpha=0.9)]


def _figure(
    titel: str,
    *,
    figsize: tuple[float, float],
    entries: Sequence[tuple[str, str]],
    legend_title: str,
    marker: bool,
    basemap: Basemap | None,
    built_up: bool = True,
    markering: bool = True,
) -> tuple[Figure, Axes]:
    """A figure with marking, title, source line and the legends in a column at the right;
    the map axes fill the rest, so a legend never covers the map."""
    fig = Figure(figsize=figsize, layout=None)
    FigureCanvasAgg(fig)
    if markering:  # a map inside the report leaves the marking to the page
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
    if basemap is not None:
        extra = "Water: afgeleid uit CBS-gegevens (indicatief)"
        if (basemap.labels["soort"] == "straat").any():
            extra += "; straatnamen: BAG"
        if basemap.achtergrond:
            extra += "; achtergrond: aangeleverd door de gemeente"
        fig.text(
            0.98,
            0.015,
            extra,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#444444",
            gid=GID_ATTRIBUTION,
        )
    renderer = fig.canvas.get_renderer()
    legends = [
        fig.legend(
            handles=_handles(entries, marker=marker),
            title=legend_title,
            loc="upper right",
            bbox_to_anchor=(0.985, 0.905),
            fontsize=8,
            title_fontsize=9,
            frameon=False,
            alignment="left",
        )
    ]
    base_entries = _basemap_handles(basemap, built_up=built_up)
    if base_entries:
        top = legends[0].get_window_extent(renderer).y0 / fig.bbox.height - 0.02
        legends.append(
            fig.legend(
                handles=base_entries,
                title="Ondergrond",
                loc="upper right",
                bbox_to_anchor=(0.985, top),
                fontsize=7.5,
                title_fontsize=8,
                frameon=False,
                alignment="left",
            )
        )
    for legend in legends:
        legend.set_gid(GID_LEGEND)
    # a fixed legend column: every map of a run has the same map frame, so the names are
    # placed (and rendered) once for all of them
    width = fig.get_size_inches()[0]
    column = min(max(LEGEND_COLUMN_IN, 0.2 * width), 0.35 * width) / width
    ax = fig.add_axes((0.02, 0.06, 1.0 - column - 0.04, 0.84))
    ax.set_anchor("N")  # a wide area leaves its spare room below the map, not above
    ax.set_axis_off()
    return fig, ax


def _handles(entries: Sequence[tuple[str, str]], *, marker: bool) -> list:
    if marker:
        return [
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
    return [Patch(facecolor=c, edgecolor="#777777", label=lab) for lab, c in entries]


def _basemap_handles(basemap: Basemap | None, *, built_up: bool = True) -> list:
    if basemap is None:
        return []
    handles = [
        Line2D([], [], color=palette.OUTLINE_COLOUR, linewidth=1.4, label="Gemeentegrens"),
        Line2D(
            [],
            [],
            color=palette.WIJK_BORDER_COLOUR,
            linewidth=0.8,
            linestyle=(0, (4, 3)),
            label="Wijkgrens",
        ),
    ]
    if len(basemap.buurten) > len(basemap.wijken):
        handles.append(
            Line2D([], [], color=palette.BUURT_BORDER_COLOUR, linewidth=0.6, label="Buurtgrens")
        )
    if len(basemap.water):
        handles.append(Patch(facecolor=palette.WATER_COLOUR, edgecolor="none", label="Water"))
    if "gebouwen" in basemap.achtergrond:
        handles.append(Patch(facecolor=palette.BUILDING_COLOUR, edgecolor="none", label="Gebouwen"))
    elif built_up and len(basemap.bebouwing):
        handles.append(
            Patch(facecolor=palette.BUILT_UP_COLOUR, edgecolor="none", label="Bewoond gebied")
        )
    if len(basemap.buren):
        handles.append(
            Patch(facecolor=palette.NEIGHBOUR_COLOUR, edgecolor="none", label="Buurgemeente")
        )
    return handles


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


def line_segments(geometries: np.ndarray) -> list[np.ndarray]:
    """The coordinate arrays of every line (or polygon ring) for a ``LineCollection``."""
    geometries = np.asarray(geometries, dtype=object)
    geometries = geometries[~(shapely.is_missing(geometries) | shapely.is_empty(geometries))]
    if not len(geometries):
        return []
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6))
    lines = np.concatenate(
        [
            shapely.get_parts(shapely.boundary(geometries[polygonal])),
            shapely.get_parts(geometries[~polygonal]),
        ]
    )
    lines = shapely.get_parts(lines)  # boundaries of polygons with holes are multilines
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    cuts = np.flatnonzero(np.diff(owner)) + 1
    return np.split(coords, cuts)


def _cached(basemap: Basemap, key: str, make):
    if key not in basemap.cache:
        basemap.cache[key] = make()
    return basemap.cache[key]


def _draw_paths(ax: Axes, paths: list[Path], **style) -> None:
    if paths:
        ax.add_collection(PathCollection(paths, **style))


def _draw_lines(ax: Axes, segments: list[np.ndarray], **style) -> None:
    if segments:
        ax.add_collection(LineCollection(segments, **style))


def _draw_base(
    ax: Axes,
    basemap: Basemap | None,
    data: gpd.GeoDataFrame,
    *,
    water_on_top: bool,
    built_up: bool = True,
) -> None:
    """Neighbours, land, built-up land, background and water under (or, for buurten,
    over) the data, and the map extent."""
    if basemap is None:
        xmin, ymin, xmax, ymax = data.total_bounds
        if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
            xmin, ymin, xmax, ymax = 0.0, 0.0, 1.0, 1.0
        pad = 0.04 * max(xmax - xmin, ymax - ymin, 1.0)
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
        ax.set_aspect("equal", adjustable="box")
        return
    neighbours = _cached(
        basemap,
        "static:buren",
        # grown a little so the simplified neighbours leave no white slivers at the border
        lambda: polygon_paths(shapely.buffer(basemap.buren.geometry.values, 120.0, quad_segs=2))[0],
    )
    _draw_paths(ax, neighbours, facecolor=palette.NEIGHBOUR_COLOUR, edgecolor="none", zorder=0.5)
    _draw_lines(
        ax,
        _cached(
            basemap, "static:buren-randen", lambda: line_segments(basemap.buren.geometry.values)
        ),
        colors="#ffffff",
        linewidths=1.0,
        zorder=0.6,
    )
    _draw_paths(
        ax,
        _cached(basemap, "static:land", lambda: polygon_paths(basemap.outline.geometry.values)[0]),
        facecolor=palette.LAND_COLOUR,
        edgecolor="none",
        zorder=1,
    )
    layers = basemap.achtergrond
    if "gebouwen" in layers:
        _draw_paths(
            ax,
            _cached(
                basemap,
                "static:gebouwen",
                lambda: polygon_paths(layers["gebouwen"].geometry.values)[0],
            ),
            facecolor=palette.BUILDING_COLOUR,
            edgecolor="none",
            zorder=1.6,
        )
    elif built_up and len(basemap.bebouwing):
        _draw_paths(
            ax,
            _cached(
                basemap,
                "static:bebouwing",
                lambda: polygon_paths(basemap.bebouwing.geometry.values)[0],
            ),
            facecolor=palette.BUILT_UP_COLOUR,
            edgecolor="none",
            zorder=1.5,
        )
    if "wegen" in layers:
        roads = layers["wegen"]
        polygonal = roads.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        _draw_paths(
            ax,
            _cached(
                basemap,
                "static:wegvlakken",
                lambda: polygon_paths(roads.geometry.values[polygonal])[0],
            ),
            facecolor=palette.ROAD_COLOUR,
            edgecolor="none",
            zorder=1.7,
        )
        _draw_lines(
            ax,
            _cached(
                basemap,
                "static:weglijnen",
                lambda: line_segments(roads.geometry.values[~polygonal]),
            ),
            colors=palette.ROAD_LINE_COLOUR,
            linewidths=0.6,
            alpha=0.8,
            zorder=7,
        )
    if len(basemap.water):
        _draw_paths(
            ax,
            _cached(
                basemap, "static:water", lambda: polygon_paths(basemap.water.geometry.values)[0]
            ),
            facecolor=palette.WATER_COLOUR,
            edgecolor="none",
            zorder=6 if water_on_top else 2,
        )
    if "water" in layers:  # the analyst's ditches and streams drawn as lines
        streams = layers["water"]
        lines = streams.geometry.values[~streams.geom_type.isin(["Polygon", "MultiPolygon"])]
        _draw_lines(
            ax,
            _cached(basemap, "static:waterlopen", lambda: line_segments(lines)),
            colors=palette.WATER_COLOUR,
            linewidths=1.2,
            zorder=6 if water_on_top else 2,
        )
    xmin, ymin, xmax, ymax = basemap.extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")


def _draw_top(ax: Axes, basemap: Basemap | None, *, avoid: np.ndarray | None = None) -> None:
    """Borders (buurt, wijk, municipality: one source, so they line up), then scale bar,
    north arrow and the names placed around them (and around the points ``avoid``)."""
    if basemap is not None:
        if len(basemap.buurten) > len(basemap.wijken):
            _draw_lines(
                ax,
                _cached(
                    basemap,
                    "static:buurtgrenzen",
                    lambda: line_segments(basemap.buurten.geometry.values),
                ),
                colors=palette.BUURT_BORDER_COLOUR,
                linewidths=0.35,
                zorder=8,
            )
        _draw_lines(
            ax,
            _cached(
                basemap, "static:wijkgrenzen", lambda: line_segments(basemap.wijken.geometry.values)
            ),
            colors=palette.WIJK_BORDER_COLOUR,
            linewidths=0.7,
            linestyles=[(0, (4, 3))],
            zorder=8.5,
        )
        _draw_lines(
            ax,
            _cached(
                basemap, "static:grens", lambda: line_segments(basemap.outline.geometry.values)
            ),
            colors=palette.OUTLINE_COLOUR,
            linewidths=1.4,
            zorder=9,
        )
    add_scalebar(ax)
    add_north_arrow(ax)
    if basemap is not None and len(basemap.labels):
        add_labels(ax, basemap, avoid=avoid)


def _label_text(ax: Axes, row, *, zorder: float = 11) -> Text:
    return ax.text(
        row.x,
        row.y,
        row.tekst.upper() if row.soort == "gemeente" else row.tekst,
        ha="center",
        va="center",
        rotation=row.hoek,
        rotation_mode="anchor",
        zorder=zorder,
        gid=GID_LABEL,
        clip_on=True,
        **LABEL_STYLE[row.soort],
    )


#: Resolution at which the label layer is rendered (the report's print maps use 150 dpi).
LABEL_DPI = 150


def _layout_key(ax: Axes, avoid: np.ndarray | None = None) -> tuple:
    fig = ax.figure
    points = None if avoid is None else hashlib.sha1(np.ascontiguousarray(avoid)).hexdigest()
    return (
        points,
        tuple(np.round(fig.get_size_inches(), 3)),
        tuple(np.round(ax.get_position().bounds, 4)),
        tuple(np.round(ax.get_xlim(), 1)),
        tuple(np.round(ax.get_ylim(), 1)),
    )


def chosen_labels(ax: Axes, basemap: Basemap, *, avoid: np.ndarray | None = None) -> pd.DataFrame:
    """The basemap labels placed on this map, in priority order.

    Candidates come in priority order (neighbours, wijken, buurten, streets; larger or
    busier first). Each is measured as rendered and kept when it lies inside the map, fits
    its area or street (:data:`LABEL_FIT`) and overlaps neither an earlier label nor the
    scale bar or north arrow, nor covers one of the points ``avoid`` (x, y in RD: the
    data of a point map come first). The choice is cached per basemap and map layout, so
    the maps of one run measure once.
    """
    ax.apply_aspect()
    key = ("static:labels", *_layout_key(ax, avoid))
    if key not in basemap.cache:
        basemap.cache[key] = _choose_labels(ax, basemap, avoid)
    chosen = basemap.cache[key]
    rows = basemap.labels.iloc[[i for i, _x, _y in chosen]]
    return rows.assign(x=[x for _i, x, _y in chosen], y=[y for _i, _x, y in chosen])


def label_texts(ax: Axes, basemap: Basemap, *, avoid: np.ndarray | None = None) -> list[Text]:
    """Draw the chosen labels (:func:`chosen_labels`) as text artists on ``ax``."""
    rows = chosen_labels(ax, basemap, avoid=avoid)
    return [_label_text(ax, row) for row in rows.itertuples(index=False)]


class LabelLayer(Artist):
    """The names of a map, drawn as pixels rendered once and copied onto each map.

    Text with a halo is slow to draw in matplotlib (about 10 ms a label), and every map of
    a run shows the same names at the same places: the names alone are rendered once per
    basemap, layout and resolution (kept in the basemap's cache) and each map copies the
    pixels into its frame, with no resampling.
    """

    def __init__(self, rows: pd.DataFrame, cache: dict, key: tuple) -> None:
        super().__init__()
        self.rows = rows
        self._cache = cache
        self._key = key
        self.pixels: np.ndarray | None = None  # what was drawn last
        self.set_zorder(11)
        self.set_gid(GID_LABEL)

    def draw(self, renderer) -> None:
        if not self.get_visible() or self.rows.empty:
            return
        ax = self.axes
        dpi = float(self.figure.dpi)  # savefig sets the output resolution here
        key = (*self._key, round(dpi, 3))
        if key not in self._cache:
            self._cache[key] = _render_labels(ax, self.rows, dpi)
        self.pixels = self._cache[key]
        box = ax.get_window_extent(renderer)
        gc = renderer.new_gc()
        renderer.draw_image(gc, int(round(box.x0)), int(round(box.y0)), self.pixels[::-1])
        gc.restore()
        self.stale = False


def add_labels(ax: Axes, basemap: Basemap, *, avoid: np.ndarray | None = None) -> LabelLayer:
    """Add the basemap's names (:func:`chosen_labels`) to a map as a :class:`LabelLayer`."""
    rows = chosen_labels(ax, basemap, avoid=avoid)
    layer = LabelLayer(rows, basemap.cache, ("static:labellaag", *_layout_key(ax, avoid)))
    ax.add_artist(layer)
    return layer


def _render_labels(ax: Axes, rows: pd.DataFrame, dpi: float) -> np.ndarray:
    """The labels of ``ax``'s layout alone, as RGBA pixels covering exactly its frame
    (top row first)."""
    fig = Figure(figsize=ax.figure.get_size_inches(), dpi=dpi)
    FigureCanvasAgg(fig)
    twin = fig.add_axes(ax.get_position().bounds)
    twin.set_axis_off()
    twin.set_xlim(ax.get_xlim())
    twin.set_ylim(ax.get_ylim())
    twin.set_aspect("equal", adjustable="box")
    twin.set_anchor(ax.get_anchor())
    for row in rows.itertuples(index=False):
        _label_text(twin, row).set_path_effects(_HALO)
    fig.patch.set_alpha(0.0)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())
    box = twin.get_window_extent()
    height = pixels.shape[0]
    x0, y0 = int(round(box.x0)), int(round(box.y0))
    x1, y1 = x0 + int(round(box.width)), y0 + int(round(box.height))
    return pixels[height - y1 : height - y0, x0:x1].copy()


#: Where an area's name may go besides the centre of its largest inscribed circle: half
#: that circle's radius up, down, left or right (still well inside the area).
_SHIFTS = ((0.0, 0.0), (0.0, 0.5), (0.0, -0.5), (0.5, 0.0), (-0.5, 0.0))


def _choose_labels(
    ax: Axes, basemap: Basemap, avoid: np.ndarray | None
) -> list[tuple[int, float, float]]:
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    x0, x1 = ax.get_xlim()
    metres_per_px = (x1 - x0) / frame.width
    obstacles = [
        a.get_window_extent(renderer)
        for a in ax.get_children()
        if a.get_gid() in (GID_SCALEBAR, GID_NORTH)
    ]
    boxes = np.array([[b.x0, b.y0, b.x1, b.y1] for b in obstacles], dtype=float).reshape(-1, 4)
    points = np.empty((0, 2)) if avoid is None or not len(avoid) else ax.transData.transform(avoid)
    reach = POINT_RADIUS_PT * ax.figure.dpi / 72 + _LABEL_PAD_PX
    labels = basemap.labels
    inside = (
        (labels["x"] > x0)
        & (labels["x"] < x1)
        & (labels["y"] > ax.get_ylim()[0])
        & (labels["y"] < ax.get_ylim()[1])
    ).to_numpy()
    # a cheap lower bound of each text's length (0.45 em a character) rules out most names
    # that cannot fit at this scale before any is measured
    size_pt = labels["soort"].map(lambda k: LABEL_STYLE[k]["fontsize"]).to_numpy(dtype=float)
    chars = labels["tekst"].astype(str).str.len().to_numpy()
    shortest = 0.45 * size_pt * chars * ax.figure.dpi / 72.0 * metres_per_px
    fit = labels["soort"].map(LABEL_FIT).to_numpy(dtype=float) * labels["ruimte_m"].to_numpy()
    inside = inside & (shortest <= fit)
    sizes = basemap.cache.setdefault(
        ("static:tekstmaten", tuple(np.round(ax.figure.get_size_inches(), 3)), ax.figure.dpi), {}
    )
    chosen: list[tuple[int, float, float]] = []
    pad = _LABEL_PAD_PX
    for i in np.flatnonzero(inside):
        row = labels.iloc[i]
        if i not in sizes:  # measured once per figure size: the box only moves with the anchor
            text = _label_text(ax, row)
            measured = text.get_window_extent(renderer)
            text.remove()
            centre = ax.transData.transform((row.x, row.y))
            sizes[i] = (
                measured.x0 - centre[0],
                measured.y0 - centre[1],
                measured.x1 - centre[0],
                measured.y1 - centre[1],
            )
        cx, cy = ax.transData.transform((row.x, row.y))
        dx0, dy0, dx1, dy1 = sizes[i]
        box = Bbox.from_extents(cx + dx0, cy + dy0, cx + dx1, cy + dy1)
        length = max(box.width, box.height) if row.hoek else box.width
        if length * metres_per_px > LABEL_FIT[row.soort] * row.ruimte_m:
            continue  # does not fit its area or street at this scale
        shifts = _SHIFTS if row.soort in ("wijk", "buurt") else _SHIFTS[:1]
        for dx, dy in shifts:
            # the same text moved by a share of the area's inscribed radius
            offset = np.array([dx, dy]) * (row.ruimte_m / 2.0) / metres_per_px
            b = box.translated(*offset)
            if b.x0 < frame.x0 or b.x1 > frame.x1 or b.y0 < frame.y0 or b.y1 > frame.y1:
                continue
            hit = (
                (boxes[:, 0] < b.x1 + pad)
                & (boxes[:, 2] > b.x0 - pad)
                & (boxes[:, 1] < b.y1 + pad)
                & (boxes[:, 3] > b.y0 - pad)
            )
            if hit.any():
                continue
            covered = (
                (points[:, 0] > b.x0 - reach)
                & (points[:, 0] < b.x1 + reach)
                & (points[:, 1] > b.y0 - reach)
                & (points[:, 1] < b.y1 + reach)
            )
            if covered.any():
                continue  # would cover a location of the map's data
            boxes = np.vstack([boxes, [b.x0, b.y0, b.x1, b.y1]])
            shift = offset * metres_per_px
            chosen.append((int(i), float(row.x + shift[0]), float(row.y + shift[1])))
            break
    return chosen


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
    basemap: Basemap | Mapping | None = None,
    method: str = "quantile",
    k: int = 5,
    breaks: Sequence[float] | None = None,
    decimals: int = 1,
    figsize: tuple[float, float] = A4_LANDSCAPE,
    markering: bool = True,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.buurt_choropleth` (same classes/colours).

    ``basemap`` is the run's :class:`~bcba.maps.basemap.Basemap` (or the older keyword
    mapping); the buurten take its cleaned geometry, water is drawn over them.
    """
    _check(buurten, column)
    base = coerce_basemap(basemap)
    classes = palette.score_classes(
        buurten[column], method=method, k=k, breaks=breaks, decimals=decimals
    )
    labels = classes.assign(buurten[column])
    has_missing = any(lab is None for lab in labels)
    fig, ax = _figure(
        titel,
        figsize=figsize,
        entries=classes.legend_entries(include_no_data=has_missing),
        legend_title=legend_title or column,
        marker=False,
        basemap=base,
        built_up=False,
        markering=markering,
    )
    frame = base.align(buurten) if base is not None else buurten
    _draw_base(ax, base, frame, water_on_top=True, built_up=False)
    _polygons(ax, frame, classes.colour_of(labels), 0.85)
    _draw_top(ax, base)
    return fig


def risk_surface_figure(
    cellen: gpd.GeoDataFrame,
    *,
    titel: str,
    column: str = "relatief_risico",
    basemap: Basemap | Mapping | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE,
    markering: bool = True,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.risk_surface_map` (squares with risk > 1)."""
    _check(cellen, column)
    base = coerce_basemap(basemap)
    classes = palette.risk_classes()
    above = cellen[pd.to_numeric(cellen[column], errors="coerce") > 1.0]
    fig, ax = _figure(
        titel,
        figsize=figsize,
        entries=classes.legend_entries(),
        legend_title=classes.title,
        marker=False,
        basemap=base,
        markering=markering,
    )
    _draw_base(ax, base, cellen, water_on_top=False)
    _polygons(ax, above, classes.colour_of(classes.assign(above[column])), 0.9)
    _draw_top(ax, base)
    return fig


def hotspot_figure(
    frame: gpd.GeoDataFrame,
    *,
    titel: str,
    klasse_column: str | None = "gi_klasse",
    z_column: str = "gi_z",
    p_column: str = "gi_p",
    basemap: Basemap | Mapping | None = None,
    show_not_significant: bool = True,
    figsize: tuple[float, float] = A4_LANDSCAPE,
    markering: bool = True,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.hotspot_map`."""
    _check(frame)
    base = coerce_basemap(basemap)
    classes = palette.gistar_classes()
    labels = _gistar_labels(frame, classes, klasse_column, z_column, p_column)
    keep = np.ones(len(frame), dtype=bool) if show_not_significant else labels != "Niet significant"
    by_buurt = "buurtcode" in frame.columns
    fig, ax = _figure(
        titel,
        figsize=figsize,
        entries=classes.legend_entries(),
        legend_title=classes.title,
        marker=False,
        basemap=base,
        built_up=not by_buurt,
        markering=markering,
    )
    shown = base.align(frame[keep]) if base is not None else frame[keep]
    _draw_base(ax, base, frame, water_on_top=by_buurt, built_up=not by_buurt)
    _polygons(ax, shown, classes.colour_of(labels[keep]), 0.9)
    _draw_top(ax, base)
    return fig


def _gistar_labels(frame, classes, klasse_column, z_column, p_column) -> np.ndarray:
    if klasse_column and klasse_column in frame.columns:
        return classes.assign(frame[klasse_column])
    if z_column in frame.columns and p_column in frame.columns:
        return palette.gistar_label(frame[z_column], frame[p_column])
    raise ConfigError(
        f"Geef een klassekolom ({klasse_column!r}) of z- en p-kolommen "
        f"({z_column!r}, {p_column!r}); beschikbaar: {list(frame.columns)!r}"
    )


def risk_locations_figure(
    locaties: gpd.GeoDataFrame,
    *,
    titel: str,
    flag_column: str = "flag",
    basemap: Basemap | Mapping | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE,
    markering: bool = True,
) -> Figure:
    """Print twin of :func:`bcba.maps.interactive.risk_locations_map` (no clustering)."""
    _check(locaties, flag_column)
    base = coerce_basemap(basemap)
    first = locaties[flag_column].astype(str).str.split(";").str[0].str.strip()
    classes = palette.flag_classes(first.unique().tolist())
    colours = classes.colour_of(palette.flag_label(first.to_numpy()))
    fig, ax = _figure(
        titel,
        figsize=figsize,
        entries=classes.legend_entries(),
        legend_title=classes.title,
        marker=True,
        basemap=base,
        markering=markering,
    )
    _draw_base(ax, base, locaties, water_on_top=False)
    xy = np.column_stack([locaties.geometry.x.to_numpy(), locaties.geometry.y.to_numpy()])
    _draw_top(ax, base, avoid=xy)
    if len(locaties):
        ax.scatter(
            locaties.geometry.x,
            locaties.geometry.y,
            s=(2 * POINT_RADIUS_PT) ** 2,
            c=list(colours),
            edgecolors="#333333",
            linewidths=0.6,
            zorder=12,
        )
    return fig


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
