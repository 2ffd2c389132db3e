"""Small hand-made raw extracts for the sources tests (Barendrecht, GM0489)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

KEY = b"test-key"
PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))

BAG_HEADER = "adresseerbaar_object_id;straat;huisnummer;huisletter;toevoeging;postcode;plaats;gebruiksdoel;oppervlakte;x;y"
BAG_ROWS = [
    "0489010000000001;Dorpsstraat;1;;;2991AA;Barendrecht;woonfunctie;100;96539;429984",
    "0489010000000002;Dorpsstraat;1;A;;2991AA;Barendrecht;winkelfunctie;50;96541;429990",
    "0489010000000003;Dorpsstraat;3;;2;2991AA;Barendrecht;woonfunctie;70;96545;429995",
    "0489010000000004;Kerkweg;5;;;2991AB;Barendrecht;kantoorfunctie;200;96895;429540",
    "0489010000000005;Kerkweg;7;;;2991AB;Barendrecht;woonfunctie;90;96905;429560",
    "0489010000000006;Noordweg;3;;;2992XA;Barendrecht;woonfunctie;80;96744;430673",
    "0489010000000007;Noordweg;3;B;;2992XA;Barendrecht;woonfunctie;80;96756;430683",
]

KVK_HEADER = (
    "KvK-nummer;Vestigingsnr;Naam onderneming;Rechtsvorm;SBI-code;Straat;Huisnr;Huisletter;Toev.;"
    "Postcode;Woonplaats;Datum inschrijving;Datum uitschrijving;Werkzame personen"
)
KVK_ROWS = [
    "1234567;000012345678;Café Één;Eenmanszaak;5630;Dorpsstraat;1;A;;2991 aa;Barendrecht;01-02-2020;;3",
    "87654321;000087654321;Bouw BV;Besloten Vennootschap;4120;Kerkweg;5;;;2991AB;Barendrecht;2024-03-15;;12",
    "87654321;000087654322;Bouw BV;Besloten Vennootschap;99999;Kerkweg;99;;;2991AB;Barendrecht;15/03/2024;31-12-2024;",
    "11112222;000011112222;Nagelstudio Ë;Eenmanszaak;96022;Noordweg;3;;b;2992XA;Barendrecht;45000;;1",
]

FUNC_HEADER = "KVK nr,Naam,Geb. datum,Functie,Datum aanvang,Datum einde"
FUNC_ROWS = [
    "01234567,Jan de Vries,31-01-1980,Eigenaar,01-02-2020,",
    "87654321,Jan de Vries,31-01-1980,Bestuurder,2024-03-15,",
    "87654321,Ëlse Bakker,1975-06-02,Gevolmachtigde,2024-03-15,2024-06-01",
]

KAD_HEADER = (
    "Transactie-ID\tTransportdatum\tKoopsom (EUR)\tPostcode\tHuisnummer\tHuisletter\tToevoeging\t"
    "Koper naam\tKoper type\tKoper KvK-nummer\tVerkoper naam\tVerkoper type\tHypotheek\tWOZ"
)
KAD_ROWS = [
    "T1\t01-03-2024\t€ 1.250.000,00\t2991AB\t5\t\t\tBouw BV\trechtspersoon\t87654321\tPiet Jansen\tnatuurlijk_persoon\tnee\t900000",
    "T2\t2024-09-01\t1.400.000\t2991AB\t5\t\t\tHolding X BV\trechtspersoon\t\tBouw BV\trechtspersoon\tja\t900.000",
    "T3\t10-10-2023\t350000\t2992XA\t3\tB\t\tÉmile Dubois\tnatuurlijk_persoon\t\tKlaas Smit\tnatuurlijk_persoon\tj\t",
]

SURVEY_HEADER = "Respondentnummer;Afdeling;V3 Drugs;V5 Mensenhandel;V4 Wijken drugs;V10 Signalen;V10a Thema;V11 Adres"
SURVEY_ROWS = [
    '1;Handhaving;vaak;2;"Centrum; Noord 1";Drugshandel bij Jan de Vries thuis;drugs;Dorpsstraat 1a, 2991AA',
    "2;Burgerzaken;Weet niet;zeer vaak;BU04890102,Onbekendwijk;;;",
    "3;Vergunningen;1;soms;;Verdacht pand;vastgoed_witwassen;Kerkweg 7, 2991 AB",
]
MAPPING = """\
respondent_id: "Respondentnummer"
afdeling: "Afdeling"
percepties:
  drugs: "V3 Drugs"
  mensenhandel: "V5 Mensenhandel"
vermeldingen:
  drugs: "V4 Wijken drugs"
signalen:
  tekst: "V10 Signalen"
  thema: "V10a Thema"
  adres: "V11 Adres"
"""

PARTNER_HEADER = "bron;thema;soort;datum;x;y;postcode;huisnummer;buurtcode;omschrijving;gewicht"
PARTNER_ROWS = [
    "politie;drugs;hennepkwekerij;01-05-2024;96900;429550;;;;Pand van Klaas Smit;2",
    "politie;Drugs;melding;02-05-2024;;;2991AA;1;;;",
    "gemeente;mensenhandel;controle;03-05-2024;;;;;BU04890103;;1,5",
]


def write_csv(path: Path, header: str, rows: list[str], *, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def write_xlsx(
    path: Path, header: str, rows: list[str], *, sep: str = ";", sheet: str = "Blad1"
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header.split(sep))
    for row in rows:
        ws.append(row.split(sep))
    wb.save(path)
    return path


def make_raw_dir(root: Path, *, with_optional: bool = True) -> Path:
    """Write a complete little input folder for GM0489 and return it."""
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "bag_adressen.csv", BAG_HEADER, BAG_ROWS)
    if with_optional:
        write_csv(root / "kvk_vestigingen.csv", KVK_HEADER, KVK_ROWS, encoding="cp1252")
        write_csv(root / "kvk_functionarissen.csv", FUNC_HEADER, FUNC_ROWS, encoding="utf-8-sig")
        write_csv(root / "kadaster_transacties.csv", KAD_HEADER, KAD_ROWS)
        write_csv(root / "enquete.csv", SURVEY_HEADER, SURVEY_ROWS)
        (root / "enquete_mapping.yaml").write_text(MAPPING, encoding="utf-8")
        (root / "partners").mkdir(exist_ok=True)
        write_csv(root / "partners" / "politie.csv", PARTNER_HEADER, PARTNER_ROWS)
    return root
