"""Report sections: the picture at a glance, one page per theme, opportunity structures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.errors import ConfigError
from bcba.labels import PARTNER_LABELS
from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report

#: Survey answers (1-5) in words, for the sentence under a theme.
PERCEPTION_WORDS = {1: "nooit", 2: "zelden", 3: "soms", 4: "vaak", 5: "zeer vaak"}
#: Fewer survey answers than this for a theme: no average is given (too few to mean much).
MIN_SURVEY_ANSWERS = 5


def rank_text(row) -> str:
    """``3`` or, with an interval from the sensitivity analysis, ``3 (2–6)``."""
    rank = rh.nl_getal(row.rang)
    low, high = getattr(row, "rang_laag", None), getattr(row, "rang_hoog", None)
    if low is None or pd.isna(low) or (low == high == row.rang):
        return rank
    return f"{rank} ({rh.nl_getal(low)}–{rh.nl_getal(high)})"


def concentration_text(r: Report, t) -> str:
    """Where a theme's events concentrate, in words: buurten, or else 100 m blocks."""
    names = [n for n in r.buurtnamen().reindex(t.verhoogd).fillna("").tolist() if n]
    if names:
        return rh.opsomming(names[:3]) + (" en andere" if len(names) > 3 else "")
    if t.n_hot_cells:
        return (
            f"{rh.nl_getal(t.n_hot_cells)} {'blok' if t.n_hot_cells == 1 else 'blokken'} van 100 m"
        )
    return "geen"


def _top_table(r: Report, thema: str, *, caption: str) -> str:
    top = r.findings.themes[thema].top if thema != "totaal" else r.findings.top_total
    if len(top) == 0:
        return rh.p("Geen buurten met voldoende adressen om te rangschikken.")
    reasons = r.reasons(thema, top["buurtcode"])
    table = pd.DataFrame(
        {
            "buurt": top["buurtnaam"],
            "rang": [rank_text(row) for row in top.itertuples()],
            "waarom": reasons,
        }
    )
    return rh.tabel_html(
        table,
        kolommen={"buurt": "Buurt", "rang": "Rang", "waarom": "Waarom deze buurt opvalt"},
        bijschrift=caption,
        breed=("waarom",),
        heel=("rang",),
    )


def overzicht(r: Report) -> HTML:
    """The total score per buurt on a map, and per theme where it stands out."""
    f = r.findings
    rows = []
    for thema, t in f.themes.items():
        rows.append(
            {
                "thema": r.label(thema),
                "top": rh.opsomming(t.top["buurtnaam"].head(3).tolist()) or "–",
                "vlaggen": t.n_flags,
                "meldingen": t.n_events,
                "verhoogd": concentration_text(r, t),
            }
        )
    kaart = r.map(
        "choropleth",
        r.score_frame("totaal"),
        column="score_totaal",
        titel="Totaalscore per buurt",
        legend_title="Totaalscore",
        slug="totaalscore",
        bijschrift="Kaart 1. Samengestelde score per buurt over alle thema's (donkerder = meer signalen).",
        op_scherm="Klik op een buurt voor de redenen.",
    )
    from bcba.report import charts

    survey = r.inputs.enquete
    perception = charts.perception_png(
        survey.percepties if survey is not None else None,
        labels={k: v.label for k, v in r.themes.themas.items()},
        titel="Hoe vaak zien medewerkers signalen?",
    )
    picture = (
        rh.figuur(
            perception,
            bijschrift="Antwoorden van medewerkers per thema (thema's met minder dan vijf respondenten "
            "zijn weggelaten).",
            alt="Staafdiagram enquête",
        )
        if perception is not None
        else ""
    )
    return rh.section(
        rh.h(2, "In één oogopslag"),
        rh.p(
            "De kaart toont per buurt hoeveel gelegenheidsstructuren, rode vlaggen, partnermeldingen en "
            "signalen van medewerkers samenkomen, vergeleken met de andere buurten van de gemeente. De tabel "
            "geeft per thema de buurten die het hoogst scoren en de buurten met meer meldingen dan hun aantal "
            "adressen doet verwachten."
        ),
        kaart,
        rh.tabel_html(
            pd.DataFrame(rows),
            kolommen={
                "thema": "Thema",
                "top": "Hoogste scores",
                "vlaggen": "Rode vlaggen",
                "meldingen": "Meldingen",
                "verhoogd": "Concentraties",
            },
            decimalen=0,
            bijschrift="Per thema",
            breed=("top", "verhoogd"),
        ),
        picture,
        klasse="bcba-compact",
    )


def _partners_sentence(r: Report, thema: str) -> str:
    events = r.inputs.partners
    if events is None or len(events) == 0:
        return "Er zijn geen partnergegevens aangeleverd."
    own = events[events["thema"] == thema]
    if len(own) == 0:
        return "Partners registreerden in de periode geen meldingen over dit thema."
    per_partner = own["bron"].map(lambda b: PARTNER_LABELS.get(b, b)).value_counts()
    parts = [f"{label} {rh.nl_getal(n)}" for label, n in per_partner.items()]
    text = (
        f"Partners registreerden in de periode {rh.nl_getal(len(own))} meldingen over dit thema "
        f"({rh.opsomming(parts)})."
    )
    rates = r.indicators.partners_buurt
    if len(rates) and "oordeel" in rates:
        high = rates[
            (rates["thema"] == thema)
            & rates["oordeel"].notna()
            & (rates["oordeel"].astype(str) != "")
        ]
        high = high.sort_values("rang").head(3)
        if len(high):
            names = r.buurtnamen().reindex(high["gebied"]).fillna(high["gebied"]).tolist()
            text += (
                " Naar verhouding (per adres, na correctie voor kleine aantallen) meldden zij het meest in "
                + rh.opsomming(
                    [
                        f"{n} ({rh.nl_getal(v, 1)} per 1.000 adressen)"
                        for n, v in zip(names, high["per_1000_adressen_gekrompen"], strict=True)
                    ]
                )
                + "."
            )
    return text + " Meldingsteksten worden niet letterlijk opgenomen."


def _survey_sentence(r: Report, thema: str) -> str:
    survey = r.inputs.enquete
    if survey is None or len(survey.percepties) == 0:
        return "Er is geen enquête onder medewerkers aangeleverd."
    answers = survey.percepties[survey.percepties["thema"] == thema]["score"].dropna()
    if len(answers) < MIN_SURVEY_ANSWERS:
        return (
            f"Te weinig medewerkers beantwoordden de vraag over dit thema (minder dan "
            f"{MIN_SURVEY_ANSWERS}) om er iets over te zeggen."
        )
    mean = float(answers.mean())
    word = PERCEPTION_WORDS[min(5, max(1, round(mean)))]
    return (
        f"{rh.nl_getal(len(answers))} medewerkers zien signalen van dit thema gemiddeld '{word}' "
        f"({rh.nl_getal(mean, 1)} op een schaal van 1 = nooit tot 5 = zeer vaak)."
    )


def _charts(r: Report, thema: str) -> str:
    """The theme's top buurten with their rank margin beside its partner events per quarter."""
    from bcba.labels import PARTNER_LABELS
    from bcba.report import charts

    top = r.findings.themes[thema].top.rename(
        columns={"rang": "rank", "rang_laag": "rank_low", "rang_hoog": "rank_high"}
    )
    parts = []
    if len(top):
        png = charts.top_buurten_png(top, titel="Hoogste scores en hun marge", n=5)
        parts.append(
            rh.figuur(
                png,
                bijschrift="Score en rang met marge (gevoeligheidsanalyse).",
                alt="Staafdiagram",
            )
        )
    events = r.inputs.partners
    if events is not None and len(events) and (events["thema"] == thema).any():
        png = charts.partner_events_png(
            events,
            thema=thema,
            periode=r.periode,
            by="bron",
            labels=PARTNER_LABELS,
            titel="Meldingen van partners per kwartaal",
        )
        parts.append(
            rh.figuur(
                png, bijschrift="Partnermeldingen over dit thema per kwartaal.", alt="Staafdiagram"
            )
        )
    return rh.rij(*parts) if parts else ""


def themabeeld(r: Report, thema: str) -> HTML:
    """One page per theme: map, the top buurten with their reasons, what partners and
    staff report."""
    if thema not in r.themes.themas:
        raise ConfigError(f"Onbekend thema {thema!r}; kies uit {list(r.themes.themas)}")
    theme = r.themes.themas[thema]
    kaart = r.map(
        "choropleth",
        r.score_frame(thema),
        column=f"score_{thema}",
        titel=f"{theme.label}: score per buurt",
        legend_title="Score",
        slug=f"score_{thema}",
        bijschrift=f"{theme.label}: score per buurt (donkerder = meer signalen).",
        op_scherm="Klik op een buurt voor de redenen.",
        hoogte=420,
    )
    return rh.section(
        rh.h(2, theme.label),
        rh.p(theme.omschrijving),
        kaart,
        _charts(r, thema),
        _top_table(r, thema, caption="Waarom deze buurten opvallen"),
        rh.h(3, "Wat partners en medewerkers melden"),
        rh.p(_partners_sentence(r, thema) + " " + _survey_sentence(r, thema)),
        klasse="bcba-compact",
    )


def gelegenheidsstructuren(r: Report) -> HTML:
    """Annex: the opportunity structures (active establishments per category) and where
    each is most over-represented."""
    g = r.indicators.gelegenheid_buurt
    cats = r.themes.categorieen
    in_cats = g[g["groep"].isin(list(cats))]
    text = (
        "Gelegenheidsstructuren zijn branches en plekken die kansen bieden voor ondermijning (contante omzet, "
        "weinig toezicht, afgeschermde ruimte). Het locatiequotiënt (LQ) vergelijkt het aandeel van een branche "
        "in een buurt met dat in de hele gemeente: LQ 2 betekent twee keer zo sterk vertegenwoordigd. Bij kleine "
        "aantallen is het LQ naar 1 gekrompen, zodat één vestiging geen uitschieter maakt."
    )
    if len(in_cats) == 0:
        return rh.section(rh.p(text), rh.p("Geen actieve vestigingen in de risicobranches."))
    per_cat = in_cats.groupby("groep").agg(n=("n", "sum")).reset_index()
    strongest = in_cats.sort_values("lq_gekrompen", ascending=False).drop_duplicates("groep")
    strongest = strongest.set_index("groep")
    names = r.buurtnamen()
    per_cat["categorie"] = per_cat["groep"].map({k: v.label for k, v in cats.items()})
    per_cat["buurt"] = per_cat["groep"].map(strongest["gebied"]).map(names)
    per_cat["lq"] = per_cat["groep"].map(strongest["lq_gekrompen"])
    per_cat = per_cat.sort_values("n", ascending=False)
    return rh.section(
        rh.p(text),
        rh.tabel_html(
            per_cat,
            kolommen={
                "categorie": "Categorie",
                "n": "Actieve vestigingen",
                "buurt": "Sterkst vertegenwoordigd in",
                "lq": "LQ daar",
            },
            decimalen={"n": 0, "lq": 1},
            bijschrift="Gelegenheidsstructuren (actieve KvK-vestigingen aan het eind van de periode)",
        ),
    )
