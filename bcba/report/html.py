"""Small HTML building blocks for the report notebook (marking, title page, tables, maps).

Each public function returns an :class:`IPython.display.HTML` object, so a report cell is one
call whose output nbconvert keeps; ``.data`` holds the HTML string. All text is escaped and
numbers are formatted the Dutch way (``1.234,5``). The CSS classes used here are styled by
the nbconvert template in ``templates/bcba``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

import pandas as pd
from IPython.display import HTML

from bcba.errors import ConfigError
from bcba.labels import nl_date
from bcba.maps.palette import MARKING, format_number_nl


def nl_getal(value: float | int | None, decimalen: int = 0) -> str:
    """A number in Dutch notation: ``12.345,6``; missing values give ``–``."""
    return format_number_nl(value, decimalen)


def nl_percentage(value: float | None, decimalen: int = 0) -> str:
    """A fraction (0.123) as a Dutch percentage: ``12 %`` / ``12,3 %``."""
    if value is None or pd.isna(value):
        return "–"
    return f"{format_number_nl(float(value) * 100, decimalen)}%"


def nl_datum(value: dt.date | str) -> str:
    """A date in words: ``3 maart 2025`` (the one date format of the report)."""
    return nl_date(value)


def markering_html() -> str:
    """The marking banner as an HTML string."""
    return f'<div class="bcba-marking" role="note">{MARKING}</div>'


def markering() -> HTML:
    """The marking banner ``STRIKT VERTROUWELIJK`` for the top of a section."""
    return HTML(markering_html())


def titelpagina(
    *,
    gemeentenaam: str,
    gemeente: str,
    datum: dt.date | str,
    rapport_id: str,
    ontvanger: str,
    titel: str = "Bestuurlijke criminaliteitsbeeldanalyse",
    ondertitel: str | None = None,
    periode: tuple[dt.date, dt.date] | None = None,
    demo: bool = False,
    inhoud: bool = True,
) -> HTML:
    """The title page: marking, title, municipality, recipient, date, report id, period,
    the demo notice for synthetic data, and the slot for the table of contents."""
    rows = [
        ("Gemeente", f"{gemeentenaam} ({gemeente})"),
        ("Ontvanger", ontvanger),
        ("Datum", nl_datum(datum)),
        ("Rapportnummer", rapport_id),
    ]
    if periode is not None:
        rows.append(("Onderzoeksperiode", f"{nl_datum(periode[0])} t/m {nl_datum(periode[1])}"))
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    demo_note = (
        '<p class="bcba-demo-title">DEMO – synthetische gegevens. Dit rapport is gemaakt met '
        "gegenereerde oefengegevens en zegt niets over de werkelijke situatie in de gemeente.</p>"
        if demo
        else ""
    )
    return HTML(
        '<section class="bcba-titlepage">'
        + markering_html()
        + demo_note
        + f'<h1 class="bcba-title">{html.escape(titel)}</h1>'
        + f'<p class="bcba-subtitle">{html.escape(ondertitel or gemeentenaam)}</p>'
        + f'<table class="bcba-meta">{body}</table>'
        + '<p class="bcba-handling">Dit document bevat strikt vertrouwelijke informatie. '
        "Niet verspreiden, kopiëren of doorsturen zonder toestemming van de ontvanger.</p>"
        + ('<div class="bcba-toc-slot"></div>' if inhoud else "")
        + "</section>"
    )


def _cell(value: object, decimals: int) -> tuple[str, bool]:
    if isinstance(value, list | tuple):
        items = "".join(f"<li>{html.escape(str(v))}</li>" for v in value)
        if not value:
            return "–", False
        return (f"<ul>{items}</ul>" if len(value) > 1 else html.escape(str(value[0]))), False
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–", False
    if isinstance(value, bool):
        return ("ja" if value else "nee"), False
    if isinstance(value, int):
        return format_number_nl(int(value), 0), True
    if isinstance(value, float):
        return format_number_nl(value, decimals), True
    if isinstance(value, dt.date):
        return nl_date(value), False
    if isinstance(value, list | tuple):
        items = "".join(f"<li>{html.escape(str(v))}</li>" for v in value)
        return (
            f"<ul>{items}</ul>" if len(value) > 1 else html.escape(str(value[0]))
        ) if value else "–", False
    return html.escape(str(value)), False


def tabel_html(
    frame: pd.DataFrame,
    *,
    kolommen: Mapping[str, str] | Sequence[str] | None = None,
    decimalen: int | Mapping[str, int] = 1,
    bijschrift: str | None = None,
    max_rijen: int | None = None,
    breed: Sequence[str] = (),
    groep: str | None = None,
    heel: Sequence[str] = (),
) -> str:
    """A DataFrame as a sober HTML table string (Dutch numbers, escaped, no index).

    Lists in a cell become a bulleted list; ``breed`` names the text columns that get the
    room (they wrap; the table never grows wider than its column). ``groep``: a column
    whose value heads each group of rows (shown once, as a row across the table). ``heel``:
    short text columns that never wrap (a rank with its margin).
    """
    if kolommen is None:
        mapping = {c: str(c) for c in frame.columns}
    elif isinstance(kolommen, Mapping):
        mapping = dict(kolommen)
    else:
        mapping = {c: str(c) for c in kolommen}
    missing = [c for c in mapping if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"Kolommen niet gevonden: {missing!r}; beschikbaar: {list(frame.columns)!r}"
        )
    shown = frame.loc[:, list(mapping)]
    extra = 0
    if max_rijen is not None and len(shown) > max_rijen:
        extra = len(shown) - max_rijen
        shown = shown.head(max_rijen)
    head = "".join(f"<th>{html.escape(label)}</th>" for label in mapping.values())
    rows = []
    groups = frame[groep].tolist()[: len(shown)] if groep is not None else [None] * len(shown)
    previous = object()
    for record, group in zip(shown.itertuples(index=False, name=None), groups, strict=True):
        if groep is not None and group != previous:
            rows.append(
                f'<tr class="bcba-group"><td colspan="{len(mapping)}">{html.escape(str(group))}</td></tr>'
            )
            previous = group
        cells = []
        for column, value in zip(mapping, record, strict=True):
            decimals = decimalen.get(column, 1) if isinstance(decimalen, Mapping) else decimalen
            text, numeric = _cell(value.item() if hasattr(value, "item") else value, decimals)
            kind = (
                "num"
                if numeric
                else ("wide" if column in breed else ("heel" if column in heel else ""))
            )
            cells.append(f'<td class="{kind}">{text}</td>' if kind else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{html.escape(bijschrift)}</caption>" if bijschrift else ""
    foot = (
        f'<tfoot><tr><td colspan="{len(mapping)}">… en nog {format_number_nl(extra)} rijen</td></tr></tfoot>'
        if extra
        else ""
    )
    return (
        f'<table class="bcba-table">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>{foot}</table>"
    )


def tabel(frame: pd.DataFrame, **kwargs) -> HTML:
    """:func:`tabel_html` as a display object for a report cell."""
    return HTML(tabel_html(frame, **kwargs))


def kaart_html(
    m,
    *,
    statisch=None,
    hoogte: int = 540,
    bijschrift: str | None = None,
    dpi: int = 150,
    op_scherm: str | None = None,
) -> str:
    """An interactive offline map (iframe) with its static PNG twin for print.

    Parameters
    ----------
    m
        A folium map from :mod:`bcba.maps.interactive`, or its page already rendered by
        :func:`bcba.maps.offline.to_offline_html` (saves rendering it twice).
    statisch
        Its static twin: a matplotlib Figure or PNG bytes. Shown instead of the
        interactive map when printing (the template hides one or the other).
    hoogte
        Height of the interactive map in pixels.
    bijschrift
        Caption under the map.
    op_scherm
        Caption text for the screen only (e.g. how to use the interactive map); print
        never says "klik".
    """
    from bcba.maps.offline import map_iframe, to_offline_html
    from bcba.maps.static import figure_to_base64

    page = m if isinstance(m, str) else to_offline_html(m)
    parts = ['<figure class="bcba-map">', map_iframe(page, hoogte=hoogte)]
    if statisch is not None:
        if isinstance(statisch, bytes | bytearray):
            import base64

            data = base64.b64encode(bytes(statisch)).decode("ascii")
        else:
            data = figure_to_base64(statisch, dpi=dpi)
        parts.append(
            f'<img class="bcba-static-map" alt="Kaart (afdrukversie)" src="data:image/png;base64,{data}">'
        )
    if bijschrift or op_scherm:
        screen = f' <span class="screen-only">{html.escape(op_scherm)}</span>' if op_scherm else ""
        parts.append(f"<figcaption>{html.escape(bijschrift or '')}{screen}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def kaart(m, **kwargs) -> HTML:
    """:func:`kaart_html` as a display object for a report cell."""
    return HTML(kaart_html(m, **kwargs))


def inhoudsopgave() -> HTML:
    """A placeholder where :func:`bcba.report.render.render_html` puts the table of contents."""
    return HTML('<div class="bcba-toc-slot"></div>')


def esc(text: object) -> str:
    """``text`` escaped for HTML."""
    return html.escape(str(text))


def p(text: str) -> str:
    """A paragraph of escaped text."""
    return f"<p>{esc(text)}</p>"


def ul(items: list[str]) -> str:
    """A bulleted list of escaped items."""
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def anchor(text: str) -> str:
    """An id for a heading, as nbconvert makes them for markdown headings."""
    return "-".join(str(text).split())


def h(level: int, text: str, *, id: str | None = None) -> str:  # noqa: A002 - HTML's name
    """A heading of escaped text; levels 1 and 2 get an id and enter the table of contents."""
    ident = id or (anchor(text) if level <= 2 else None)
    attr = f' id="{html.escape(ident, quote=True)}"' if ident else ""
    return f"<h{level}{attr}>{esc(text)}</h{level}>"


def figuur(png: bytes, *, bijschrift: str, alt: str) -> str:
    """A picture (PNG bytes) with its caption, embedded in the page."""
    import base64

    data = base64.b64encode(bytes(png)).decode("ascii")
    return (
        f'<figure class="bcba-figure"><img alt="{html.escape(alt, quote=True)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{esc(bijschrift)}</figcaption></figure>'
    )


def rij(*parts: str) -> str:
    """Parts side by side (a map beside its chart); stacked when the page is narrow."""
    return '<div class="bcba-row">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def section(*parts: str, klasse: str = "") -> HTML:
    """A report section: the parts (HTML strings) in one block for a report cell.
    ``klasse``: extra CSS classes (``bcba-compact``: smaller print maps, e.g. a theme page)."""
    return HTML(
        f'<div class="bcba-section {klasse}">'.replace(" >", ">") + "".join(parts) + "</div>"
    )


def opsomming(items: Sequence[str]) -> str:
    """Items as Dutch prose: ``A``, ``A en B``, ``A, B en C``."""
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]


def verwijzing(anker: str, tekst: str) -> str:
    """A pointer from a finding to the map or table it rests on."""
    return f'<a class="bcba-ref" href="#{html.escape(anker, quote=True)}">→ {esc(tekst)}</a>'
