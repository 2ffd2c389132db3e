"""A small finished run folder, made by hand, for the presentation and hoofdlijnen tests.

The maps are real print maps (``bcba.maps.static``, the marking included) of three
squares, at a low resolution; the summary has the fields ``run_summary`` writes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

THEMES = [
    {
        "id": "drugs",
        "label": "Drugs (incl. hennep)",
        "omschrijving": "Productie, opslag en handel van drugs.",
        "kaart": "kaarten/score_drugs.png",
        "top": ["Oranjewijk 1", "Nieuweland 3", "Meerwede Zuidwest"],
        "concentraties": "4 blokken van 100 m",
        "vlaggen": 0,
        "meldingen": 361,
        "aanpak": [
            {
                "stap": "Productie en opslag",
                "instrument": "Sluiting pand op grond van art. 13b Opiumwet",
                "partner": "Gemeente (burgemeester)",
            },
            {
                "stap": "Huisvesting",
                "instrument": "Controle energieverbruik",
                "partner": "Netbeheerder",
            },
            {"stap": "Logistiek", "instrument": "Controles op opslagboxen", "partner": "Politie"},
        ],
    },
    {
        "id": "mensenhandel",
        "label": "Mensenhandel en illegale prostitutie",
        "omschrijving": "Seksuele en arbeidsuitbuiting.",
        "kaart": "kaarten/score_mensenhandel.png",
        "top": ["BT Veiling", "Dordtsestraatweg"],
        "concentraties": "geen",
        "vlaggen": 7,
        "meldingen": 3,
        "aanpak": [
            {"stap": "Werving", "instrument": "APV-vergunningplicht", "partner": "Gemeente"},
            {
                "stap": "Exploitatie",
                "instrument": "Integrale controles",
                "partner": "Arbeidsinspectie",
            },
        ],
    },
]

#: What the mayor's findings may hold and the council version must never show.
CANARIES = ("872 adressen", "SIG-0F79A60E6A", "130 groepen", "2992VR 12", "K-79045302")

BEVINDINGEN = [
    "Over alle thema's samen vallen BT Veiling (rang 1–13) en Nieuweland 5 het meest op. "
    '<a class="bcba-ref" href="#Beeld-in-één-oogopslag">→ kaart totaalscore</a>',
    "Drugs (incl. hennep): meer meldingen in 4 blokken van 100 m. "
    '<a class="bcba-ref" href="#Drugs-(incl.-hennep)">→ Drugs (incl. hennep)</a>',
    "872 adressen dragen een rode vlag, o.a. 2992VR 12 van K-79045302 (SIG-0F79A60E6A); "
    "<b>130 groepen</b> &lt;script&gt;x&lt;/script&gt; <script>alert(1)</script>"
    '<a class="bcba-ref" href="#Netwerken">→ netwerken</a>',
]

SUMMARY = {
    "gemeente": "GM0489",
    "gemeentenaam": "Barendrecht",
    "rapport_id": "GM0489-20261204-TXBP4T",
    "ontvanger": "Burgemeester",
    "datum": "2026-12-04",
    "periode": ["2024-01-01", "2025-12-31"],
    "demo": True,
    "bevindingen": BEVINDINGEN,
    "totaal": {"kaart": "kaarten/totaalscore.png", "top": ["BT Veiling", "Nieuweland 5"]},
    "themas": THEMES,
    "model_oordeel": "RTM en KDE-basislijn voorspellen de latere gebeurtenissen even goed "
    "(5% van het oppervlak: PAI RTM 6,30 tegen KDE 7,47; 170 toetsgebeurtenissen).",
}

#: Map files of the run and the size (width, height) in pixels they are drawn at.
MAPS = (
    "totaalscore",
    "score_drugs",
    "score_mensenhandel",
    "risicokaart_drugs",
    "risicolocaties",
)
DPI = 40


def map_png(title: str) -> bytes:
    """A real print map (three squares, the marking on top) as PNG bytes."""
    import geopandas as gpd
    from shapely.geometry import box

    from bcba.maps.static import buurt_choropleth_figure, figure_to_png_bytes

    frame = gpd.GeoDataFrame(
        {"score": [1.0, 2.0, 3.0]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200)],
        crs="EPSG:28992",
    )
    fig = buurt_choropleth_figure(frame, "score", titel=title, k=3)
    return figure_to_png_bytes(fig, dpi=DPI)


_PNG_CACHE: dict[str, bytes] = {}


def make_run(folder: Path, *, summary: dict | None = None) -> Path:
    """Write a completed run folder (marker, summary, maps) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bcba-run.json").write_text('{"gestart": "2026-12-04T02:28"}', encoding="utf-8")
    data = copy.deepcopy(SUMMARY if summary is None else summary)
    (folder / "samenvatting.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    maps = folder / "kaarten"
    maps.mkdir(exist_ok=True)
    for name in MAPS:
        if name not in _PNG_CACHE:
            _PNG_CACHE[name] = map_png(name.replace("_", " ").capitalize())
        (maps / f"{name}.png").write_bytes(_PNG_CACHE[name])
    return folder
