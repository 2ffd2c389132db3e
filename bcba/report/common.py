"""What the report sections share: labels of the sources, sizes of tables and maps."""

from __future__ import annotations

SOURCE_LABELS = {
    "bag": "BAG-adressen",
    "kvk_vestigingen": "KvK-vestigingen",
    "kvk_functionarissen": "KvK-functionarissen",
    "kadaster": "Kadaster-transacties",
    "enquete": "Enquête medewerkers",
    "partners": "Partnermeldingen",
}
TOP_BUURTEN = 5
#: More risk locations than this: the report's interactive map shows the most flagged ones.
MAX_REPORT_LOCATIONS = 2500
