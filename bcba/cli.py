"""The Dutch command-line interface ``bcba``.

Exit codes: 0 success, 2 bad input or configuration (a clear Dutch message, never a
traceback), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bcba import __version__
from bcba.errors import BcbaError

log = logging.getLogger(__name__)


def _date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"ongeldige datum {text!r}; gebruik jjjj-mm-dd of dd-mm-jjjj")


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--periode-start", type=_date, help="begin van de analyseperiode (jjjj-mm-dd)")
    p.add_argument("--periode-eind", type=_date, help="einde van de analyseperiode (jjjj-mm-dd)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bcba",
        description="bcba: bestuurlijke criminaliteitsbeeldanalyse (B-CBA), offline. "
        "Alle uitvoer is STRIKT VERTROUWELIJK.",
    )
    parser.add_argument("--version", action="version", version=f"bcba {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="meer meldingen")
    sub = parser.add_subparsers(dest="command", metavar="opdracht")

    p = sub.add_parser("run", help="maak de volledige B-CBA voor een gemeente")
    p.add_argument("--gemeente", required=True, help="gemeentecode of -naam (GM0489, barendrecht)")
    p.add_argument("--data-dir", type=Path, help="invoermap (standaard data/raw/<GMxxxx>)")
    p.add_argument(
        "--out", type=Path, help="uitvoermap (standaard reports/<GMxxxx>_<naam>/<datum>)"
    )
    _add_period(p)
    p.add_argument("--ontvanger", default="Burgemeester", help="ontvanger in de rubricering")
    p.add_argument("--thema-config", type=Path, help="eigen thema-configuratie (YAML)")
    p.add_argument("--tegel-url", help="URL van een interne tegelserver voor de kaarten")
    p.add_argument("--geen-pdf", action="store_true", help="sla de PDF en het kaartenboek over")
    p.add_argument(
        "--versleutel-voor",
        action="append",
        metavar="AGE_ONTVANGER",
        help="versleutel de rapportbundel voor transport (age-ontvanger, herhaalbaar)",
    )

    p = sub.add_parser("validate", help="controleer de invoer en toon de datakwaliteit")
    p.add_argument("--gemeente", required=True)
    p.add_argument("--data-dir", type=Path)
    _add_period(p)

    sub.add_parser("gemeenten", help="welke gemeenten worden meegeleverd en welke hebben data")

    p = sub.add_parser("demo-data", help="genereer synthetische demodata (met geplante patronen)")
    p.add_argument("--gemeente", default="GM0489")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", type=Path, help="doelmap (standaard data/raw/<GMxxxx>)")
    p.add_argument("--scenario", default="standaard", choices=["standaard", "nul", "afwijkend"])
    _add_period(p)

    p = sub.add_parser("demo", help="genereer demodata voor Barendrecht en maak de B-CBA")
    p.add_argument("--geen-pdf", action="store_true")

    p = sub.add_parser("key", help="beheer de pseudonimiseringssleutel")
    ksub = p.add_subparsers(dest="key_command", metavar="actie")
    kp = ksub.add_parser("init", help="maak een nieuwe sleutel (buiten de repository, modus 0600)")
    kp.add_argument(
        "--pad", type=Path, help="sleutelbestand (standaard ~/.config/bcba/sleutel.key)"
    )
    kp.add_argument("--overschrijf", action="store_true")

    p = sub.add_parser("herleid", help="herleid pseudoniemen tot personen (wordt gelogd)")
    p.add_argument("pseudoniemen", nargs="+", help="pseudoniemen, bv. P-3fa9c2d1e07b")
    p.add_argument(
        "--bronbestand",
        type=Path,
        required=True,
        help="ruw bestand met naam en geboortedatum (bv. kvk_functionarissen.csv)",
    )
    p.add_argument("--reden", required=True, help="grondslag/reden van herleiding (verplicht)")

    p = sub.add_parser("export-landelijk", help="geanonimiseerde telling voor het landelijk beeld")
    p.add_argument("--gemeente", action="append", help="gemeente(n); standaard alle met resultaten")
    p.add_argument("--drempel", type=int, default=10)
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("audit", help="auditlog")
    asub = p.add_subparsers(dest="audit_command", metavar="actie")
    asub.add_parser("verify", help="controleer dat het auditlog niet is gewijzigd")
    asub.add_parser("toon", help="toon de laatste regels van het auditlog")

    p = sub.add_parser(
        "opschonen", help="verwijder verwerkte data en rapporten na de bewaartermijn"
    )
    p.add_argument("--gemeente", required=True)
    p.add_argument("--ouder-dan", type=int, required=True, metavar="DAGEN")
    p.add_argument("--proef", action="store_true", help="toon alleen wat zou worden verwijderd")

    p = sub.add_parser("batch", help="maak de B-CBA voor meerdere gemeenten tegelijk")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--gemeenten", nargs="+")
    g.add_argument("--regio", action="store_true", help="alle gemeenten met data")
    p.add_argument("--workers", type=int, default=2)
    _add_period(p)
    p.add_argument("--geen-pdf", action="store_true")
    p.add_argument("--regio-rapport", action="store_true", help="maak ook het regionale overzicht")

    p = sub.add_parser("vergelijk", help="vergelijk de laatste run met de vorige (monitoring)")
    p.add_argument("--gemeente", required=True)
    p.add_argument("--huidig", type=Path, help="map van de huidige run (standaard de laatste)")
    p.add_argument("--vorig", type=Path, help="map van de vorige run (standaard de voorlaatste)")
    p.add_argument(
        "--interventies", type=Path, help="CSV met interventies (adres, datum, type, partner)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 0
    from bcba import commands

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    started = time.perf_counter()
    try:
        return int(handler(args) or 0)
    except BcbaError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Afgebroken.", file=sys.stderr)
        return 130
    except ValidationError as exc:  # an invalid RunConfig built from the arguments
        problems = "; ".join(e["msg"] for e in exc.errors())
        print(f"Fout in de opdracht: {problems}", file=sys.stderr)
        return 2
    finally:
        log.info("klaar in %.1f s", time.perf_counter() - started)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
