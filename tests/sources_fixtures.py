"""Small hand-made raw extracts for the sources tests (Barendrecht, GM0489)."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
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


# --------------------------------------------------------------------------- hostile XLSX


def _zip_members(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """Write a zip of raw-deflate ``(name, packed, crc32, unpacked size)`` members by hand
    (zipfile cannot store a stream that was packed elsewhere)."""
    out, central = bytearray(), bytearray()
    for name, packed, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded), 0
        )
        out += encoded + packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded),
            0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += encoded
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0
    )
    path.write_bytes(bytes(out + central + end))


def _deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def write_xlsx_bomb(path: Path, packed_bytes: int, *, true_crc: bool = False) -> int:
    """An XLSX whose first sheet packs about 1000:1 to ``packed_bytes``; returns its unpacked size.

    The sheet is a valid worksheet (one row, then whitespace), built from one compressed
    block repeated after full flushes, so a 3 MB bomb (3 GB unpacked) is written in
    milliseconds. Its CRC is only computed with ``true_crc`` (seconds for gigabytes); a
    reader that refuses the file from its declared sizes never gets that far.
    """
    base = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(["kvk_nummer", "handelsnaam"])
    wb.save(base)
    with zipfile.ZipFile(base) as src:
        files = {info.filename: src.read(info) for info in src.infolist()}
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
        b't="inlineStr"><is><t>kvk_nummer</t></is></c></row>'
    )
    tail = b"</sheetData></worksheet>"
    chunk = b" " * (1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    last = comp.compress(tail) + comp.flush()
    repeats = max(1, (packed_bytes - len(first) - len(last)) // len(block))
    packed = first + block * repeats + last
    size = len(head) + repeats * len(chunk) + len(tail)
    crc = 0
    if true_crc:
        crc = zlib.crc32(head)
        for _ in range(repeats):
            crc = zlib.crc32(chunk, crc)
        crc = zlib.crc32(tail, crc)
    members = []
    for name, data in files.items():
        if name == "xl/worksheets/sheet1.xml":
            members.append((name, packed, crc, size))
        else:
            members.append((name, _deflate(data), zlib.crc32(data), len(data)))
    _zip_members(path, members)
    return size


def write_xlsx_member(path: Path, member: str, data: bytes | None) -> None:
    """A small valid XLSX (KvK header and one row) with one member replaced (None: removed)."""
    write_xlsx(path, KVK_HEADER, KVK_ROWS[:1])
    with zipfile.ZipFile(path) as src:
        files = {info.filename: src.read(info) for info in src.infolist()}
    if data is None:
        files.pop(member)
    else:
        files[member] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in files.items():
            dst.writestr(name, content)
