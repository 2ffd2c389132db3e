"""The map book (``kaartenboek.pdf``): one large map per page, marked on every page."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bcba.errors import ConfigError  # noqa: E402
from bcba.io import atomic_path  # noqa: E402
from bcba.maps import palette  # noqa: E402

log = logging.getLogger(__name__)

PAPER: dict[str, tuple[float, float]] = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}


def write_mapbook(
    figures_with_titles: Sequence[tuple[Figure | bytes, str]],
    path: str | Path,
    *,
    gemeente: str,
    rapport_id: str,
    ontvanger: str,
    paper: str = "A4",
    dpi: int = 200,
    datum: dt.date | None = None,
) -> Path:
    """Write the map book PDF: landscape pages, one map each, marking/header/footer/page no.

    Parameters
    ----------
    figures_with_titles
        ``(figure, page title)`` pairs, e.g. from :mod:`bcba.maps.static`. The figures are
        rendered to images and are not changed. A figure may also be given as PNG bytes
        already rendered (the report renders each map once for both uses).
    path
        Output PDF (written atomically, owner-only).
    gemeente, rapport_id, ontvanger
        Shown in header and footer of every page.
    paper
        ``"A4"`` or ``"A3"`` (landscape).
    dpi
        Resolution of the map images (figures only; PNG bytes are used as they are).
    datum
        Date in the footer (today when omitted).

    Raises
    ------
    ConfigError
        For an unknown paper size or an empty list.
    """
    if paper not in PAPER:
        raise ConfigError(f"paper moet een van {sorted(PAPER)} zijn, niet {paper!r}")
    if not figures_with_titles:
        raise ConfigError("Het kaartenboek heeft minstens één kaart nodig.")
    datum = datum or dt.date.today()
    size = PAPER[paper]
    total = len(figures_with_titles)
    with (
        atomic_path(path) as tmp,
        PdfPages(
            tmp,
            metadata={
                "Title": f"Kaartenboek B-CBA {gemeente} ({palette.MARKING})",
                "Subject": palette.MARKING,
                "Creator": "bcba",
            },
        ) as pdf,
    ):
        for number, (figure, title) in enumerate(figures_with_titles, start=1):
            if isinstance(figure, bytes | bytearray):
                buffer = io.BytesIO(figure)
            else:
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
                buffer.seek(0)
            image = mpimg.imread(buffer, format="png")
            page = Figure(figsize=size)
            red = palette.MARKING_COLOUR
            page.text(
                0.5,
                0.975,
                palette.MARKING,
                ha="center",
                va="top",
                fontsize=12,
                fontweight="bold",
                color=red,
            )
            page.text(0.03, 0.975, f"B-CBA {gemeente}", ha="left", va="top", fontsize=9)
            page.text(0.97, 0.975, f"Rapport {rapport_id}", ha="right", va="top", fontsize=9)
            page.text(0.03, 0.935, title, ha="left", va="top", fontsize=13, fontweight="bold")
            ax = page.add_axes((0.03, 0.07, 0.94, 0.84))
            ax.imshow(image, interpolation="antialiased")
            ax.set_axis_off()
            page.text(
                0.03,
                0.025,
                f"Ontvanger: {ontvanger} · {datum:%d-%m-%Y}",
                ha="left",
                va="bottom",
                fontsize=8,
            )
            page.text(
                0.5,
                0.025,
                palette.MARKING,
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
                color=red,
            )
            page.text(
                0.97, 0.025, f"Pagina {number} van {total}", ha="right", va="bottom", fontsize=8
            )
            pdf.savefig(page)
    log.info("map book written: %s (%d pages)", path, total)
    return Path(path)
