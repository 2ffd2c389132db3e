"""The Dutch command-line interface ``bcba``.

Every command is one :class:`Command` in :data:`COMMANDS`: its Dutch name, hidden old
(English) names that scripts may still use, help texts, a function adding its options and
the handler in :mod:`bcba.commands`. Options shared by several commands are added by the
``add_*`` helpers below, so a new option or command is one function and one table entry.

argparse's own texts ("usage:", "error:", "the following arguments are required") are Dutch
here: :class:`DutchArgumentParser` and :class:`DutchHelpFormatter` replace the help and
usage texts, and :func:`translate_argparse` translates argparse's error messages (their
templates are those of Python 3.11's ``argparse``; tests check that none is missed).

Exit codes: 0 success, 2 bad input or configuration (a clear Dutch message, never a
traceback), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import logging
import re
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bcba import __version__
from bcba.errors import BcbaError

log = logging.getLogger(__name__)

DESCRIPTION = (
    "bcba: bestuurlijke criminaliteitsbeeldanalyse (B-CBA), offline. "
    "Alle uitvoer is STRIKT VERTROUWELIJK."
)

# --------------------------------------------------------------------------- argparse in Dutch
#: argparse's error templates (Python 3.11) -> Dutch, with the same placeholders.
ARGPARSE_NL: dict[str, str] = {
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s: %(message)s",
    "the following arguments are required: %s": "de volgende argumenten zijn verplicht: %s",
    "one of the arguments %s is required": "een van de argumenten %s is verplicht",
    "unrecognized arguments: %s": "onbekende argumenten: %s",
    "not allowed with argument %s": "niet toegestaan samen met %s",
    "ignored explicit argument %r": "deze optie neemt geen waarde, maar kreeg %r",
    "expected one argument": "verwacht één waarde",
    "expected at most one argument": "verwacht hoogstens één waarde",
    "expected at least one argument": "verwacht minstens één waarde",
    "expected %s argument": "verwacht %s waarde",
    "expected %s arguments": "verwacht %s waarden",
    "ambiguous option: %(option)s could match %(matches)s": (
        "dubbelzinnige optie: %(option)s kan %(matches)s zijn"
    ),
    "unexpected option string: %s": "onverwachte optie: %s",
    "invalid %(type)s value: %(value)r": "ongeldige waarde %(value)r (verwacht: %(type)s)",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "ongeldige keuze %(value)r (kies uit %(choices)s)"
    ),
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "onbekende opdracht %(parser_name)r (kies uit %(choices)s)"
    ),
    "can't open '%(filename)s': %(error)s": "kan '%(filename)s' niet openen: %(error)s",
}
#: argparse's type names in "invalid <type> value" -> what the analyst should type.
_TYPE_NL = {"int": "een geheel getal", "float": "een getal"}
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[sr]")


def _group_names(template: str) -> list[str]:
    """Names of the placeholders of ``template``; a positional one is ``p<position>``."""
    return [hit.group(1) or f"p{i}" for i, hit in enumerate(_PLACEHOLDER.finditer(template))]


def _template_regex(template: str) -> re.Pattern:
    """A regex matching ``template`` filled in; placeholders become named groups."""
    literals = [re.escape(text) for text in _PLACEHOLDER.sub("\x00", template).split("\x00")]
    groups = [f"(?P<{name}>.+?)" for name in _group_names(template)]
    pattern = literals[0] + "".join(g + lit for g, lit in zip(groups, literals[1:], strict=True))
    return re.compile(f"^{pattern}$", re.DOTALL)


def _as_named_text(template: str) -> str:
    """``template`` with every placeholder as ``%(name)s`` (the values are text already)."""
    names = iter(_group_names(template))
    return _PLACEHOLDER.sub(lambda _: f"%({next(names)})s", template)


_TEMPLATES = [(_template_regex(en), _as_named_text(nl)) for en, nl in ARGPARSE_NL.items()]


def translate_argparse(message: str) -> str:
    """argparse's (English) error message in Dutch; Dutch messages pass unchanged."""
    for regex, dutch in _TEMPLATES:
        hit = regex.match(message)
        if not hit:
            continue
        values = hit.groupdict()
        if "message" in values:
            values["message"] = translate_argparse(values["message"])
        if "type" in values:
            values["type"] = _TYPE_NL.get(values["type"], "een andere waarde")
        if "choices" in values:
            values["choices"] = values["choices"].replace("'", "")
        return dutch % values
    return message


class DutchHelpFormatter(argparse.HelpFormatter):
    """Help with a Dutch ``gebruik:`` line and somewhat wider columns."""

    def __init__(self, prog: str, **kwargs) -> None:
        kwargs.setdefault("max_help_position", 32)
        super().__init__(prog, **kwargs)

    # Dutch is full of hyphenated words and codes (GM0489, dd-mm-jjjj): never break at "-"
    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )

    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, prefix="gebruik: " if prefix is None else prefix)


class DutchArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that speaks Dutch (help, usage and errors)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DutchHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "argumenten"
        self._optionals.title = "opties"
        #: visible names of the commands below this parser (for "onbekende opdracht")
        self.command_names: list[str] = []
        if add_help:
            self.add_argument("-h", "--help", action="help", help="toon deze hulptekst en stop")

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: fout: {self._dutch(message)}\n")

    def _dutch(self, message: str) -> str:
        hit = re.match(r"^argument (\S+): invalid choice: '(.*?)' \(choose from", message)
        if hit and self.command_names and hit.group(1) in ("opdracht", "actie"):
            wrong = hit.group(2)
            close = difflib.get_close_matches(wrong, self.command_names, n=1)
            hint = f" Bedoelde u '{close[0]}'?" if close else ""
            return (
                f"onbekende {hit.group(1)} '{wrong}'; kies uit: "
                f"{', '.join(self.command_names)}.{hint}"
            )
        return translate_argparse(message)


# --------------------------------------------------------------------------- shared options
def _date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"ongeldige datum {text!r}; gebruik jjjj-mm-dd of dd-mm-jjjj")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is geen geheel getal") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"moet minstens 1 zijn, niet {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is geen geheel getal") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"mag niet negatief zijn, niet {value}")
    return value


def add_gemeente(
    p: argparse.ArgumentParser, *, required: bool = True, default=None, several: bool = False
) -> None:
    """``--gemeente``: a municipality by code or name (``several``: repeatable, a cluster)."""
    extra = f" (standaard {default})" if default else ""
    more = (
        "; herhaal de optie voor een cluster van gemeenten in één B-CBA "
        "(bv. --gemeente Zwijndrecht --gemeente Hendrik-Ido-Ambacht)"
        if several
        else ""
    )
    p.add_argument(
        "--gemeente",
        required=required,
        default=default,
        action="append" if several else "store",
        metavar="GEMEENTE",
        help=f"gemeentecode of -naam, bv. GM0489 of Barendrecht{extra}{more}",
    )


def add_data_dir(p: argparse.ArgumentParser) -> None:
    """``--data-dir``: the folder with the raw extracts."""
    p.add_argument(
        "--data-dir",
        type=Path,
        metavar="MAP",
        help="map met de ruwe extracten (standaard data/raw/<GMxxxx>)",
    )


def add_period(p: argparse.ArgumentParser) -> None:
    """``--periode-start`` / ``--periode-eind``."""
    p.add_argument(
        "--periode-start",
        type=_date,
        metavar="DATUM",
        help="begin van de analyseperiode, jjjj-mm-dd of dd-mm-jjjj "
        "(standaard 1 januari van twee jaar geleden)",
    )
    p.add_argument(
        "--periode-eind",
        type=_date,
        metavar="DATUM",
        help="einde van de analyseperiode (standaard 31 december vorig jaar)",
    )


def add_no_pdf(p: argparse.ArgumentParser) -> None:
    """``--geen-pdf``."""
    p.add_argument(
        "--geen-pdf",
        action="store_true",
        help="maak alleen HTML, geen PDF en geen kaartenboek (sneller, geen Chromium nodig)",
    )


def add_hoofdlijnen(p: argparse.ArgumentParser, *, flag_help: str) -> None:
    """``--hoofdlijnen``, ``--voor`` and ``--drempel``: the version for the council."""
    p.add_argument("--hoofdlijnen", action="store_true", help=flag_help)
    p.add_argument(
        "--voor",
        metavar="TEKST",
        help="publiek van de hoofdlijnen, bv. 'besloten commissie', 'college' of 'driehoek' "
        "(standaard besloten commissie); alleen met --hoofdlijnen",
    )
    p.add_argument(
        "--drempel",
        type=_positive_int,
        default=10,
        metavar="N",
        help="aantallen onder N staan in de hoofdlijnen als 'minder dan N' (standaard 10)",
    )


def _opts_maak(p: argparse.ArgumentParser) -> None:
    add_gemeente(p, several=True)
    add_data_dir(p)
    p.add_argument(
        "--gebied",
        action="append",
        metavar="WIJK_OF_BUURT",
        help="maak de B-CBA voor een deel van de gemeente: wijk- of buurtcodes of -namen "
        "(herhaalbaar, bv. --gebied Delfshaven --gebied WK059904); scores blijven berekend "
        "ten opzichte van de hele gemeente",
    )
    p.add_argument(
        "--gebied-bestand",
        type=Path,
        metavar="BESTAND",
        help="het gebied als vlak in een GeoPackage of GeoJSON (bv. een haven of bedrijventerrein)",
    )
    p.add_argument(
        "--gebied-naam",
        default="",
        metavar="TEKST",
        help="naam van het gebied in het rapport (standaard de opgegeven gebieden of de bestandsnaam)",
    )
    p.add_argument(
        "--knooppunt-sbi",
        action="append",
        metavar="SBI",
        help="knooppunt-B-CBA voor een branche: SBI-code of -begin (herhaalbaar, bv. "
        "--knooppunt-sbi 45205 --knooppunt-sbi 5630); vlaggen, signalen en netwerken van "
        "die vestigingen",
    )
    p.add_argument(
        "--knooppunt",
        default="",
        metavar="TEKST",
        help="naam van het knooppunt in het rapport (bv. 'Autowasstraten en shishalounges')",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="MAP",
        help="uitvoermap van het rapport (standaard reports/<GMxxxx>_<naam>/<datum>)",
    )
    add_period(p)
    p.add_argument(
        "--ontvanger",
        default="Burgemeester",
        metavar="TEKST",
        help="ontvanger in de rubricering van het rapport (standaard Burgemeester)",
    )
    p.add_argument(
        "--thema-config",
        type=Path,
        metavar="BESTAND",
        help="eigen thema-configuratie (YAML) in plaats van de meegeleverde",
    )
    p.add_argument(
        "--tegel-url",
        metavar="URL",
        help="URL van een interne tegelserver als achtergrond van de kaarten",
    )
    add_no_pdf(p)
    p.add_argument(
        "--versleutel-voor",
        action="append",
        metavar="AGE_ONTVANGER",
        help="versleutel de rapportbundel voor transport (age-ontvanger, herhaalbaar)",
    )
    p.add_argument(
        "--presentatie",
        action="store_true",
        help="maak daarna ook de presentatie voor de ontvanger (presentatie_<GMxxxx>.html)",
    )
    add_hoofdlijnen(
        p,
        flag_help="maak daarna ook de hoofdlijnen voor raad, college of driehoek (rapport, PDF "
        "en presentatie, zonder adressen, bedrijven, personen, signalen en netwerken)",
    )


def _opts_presentatie(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--run", type=Path, metavar="MAP", help="map van een voltooide run")
    g.add_argument(
        "--gemeente",
        metavar="GEMEENTE",
        help="gemeentecode of -naam: neem de laatste voltooide run van die gemeente",
    )
    add_hoofdlijnen(
        p,
        flag_help="maak in plaats van de presentatie voor de ontvanger de hoofdlijnen voor "
        "raad, college of driehoek (rapport, PDF en presentatie, zonder adressen, bedrijven, "
        "personen, signalen en netwerken)",
    )
    p.add_argument(
        "--geen-pdf",
        action="store_true",
        help="maak de hoofdlijnen alleen als HTML, zonder PDF (sneller, geen Chromium nodig)",
    )


def _opts_controleer(p: argparse.ArgumentParser) -> None:
    add_gemeente(p)
    add_data_dir(p)
    add_period(p)
    p.add_argument(
        "--mapping-skelet",
        type=Path,
        metavar="BESTAND",
        help="schrijf een koppeltabel (YAML) met alle partnercategorieën die nog bij geen thema "
        "horen; vul de thema's in en sla hem op als partners_mapping.yaml in de invoermap",
    )


def _opts_demodata(p: argparse.ArgumentParser) -> None:
    from bcba import config

    add_gemeente(p, required=False, default=config.DEMO_GEMEENTE)
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help=f"startgetal van de generator; zelfde seed = zelfde bestanden "
        f"(standaard {config.DEMO_SEED})",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="MAP",
        help="doelmap (standaard data/raw/<GMxxxx>); moet leeg zijn of eerdere demodata bevatten",
    )
    p.add_argument(
        "--scenario",
        default="standaard",
        choices=["standaard", "nul", "afwijkend"],
        help="standaard: met geplante patronen; nul: zonder hotspot en risicofactoren "
        "(om vals alarm te meten); afwijkend: een werkelijkheid die niet op het model lijkt "
        "(geleidelijk afstandsverval, overdispersie, waarden vlak rond de drempels, "
        "legitieme look-alikes; om precisie en recall te meten)",
    )
    add_period(p)


def _opts_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        metavar="MAP",
        help="map voor de demodata (standaard data/raw/GM0489); moet leeg zijn of eerdere "
        "demodata bevatten",
    )
    add_no_pdf(p)


def _opts_sleutel(p: argparse.ArgumentParser) -> None:
    sub = _subparsers(p, "actie")

    def opts_nieuw(kp: argparse.ArgumentParser) -> None:
        kp.add_argument(
            "--pad",
            type=Path,
            metavar="BESTAND",
            help="sleutelbestand (standaard ~/.config/bcba/sleutel.key)",
        )
        kp.add_argument(
            "--overschrijf",
            action="store_true",
            help="vervang een bestaande sleutel (oude pseudoniemen zijn dan niet meer te "
            "reproduceren)",
        )

    _add_command(
        p,
        sub,
        Command(
            "nieuw",
            "maak een nieuwe sleutel (buiten de repository, modus 0600)",
            opts_nieuw,
            handler="",
            aliases=("init",),
        ),
        dest="key_command",
        value="init",
    )


def _opts_herleid(p: argparse.ArgumentParser) -> None:
    p.add_argument("pseudoniemen", nargs="+", help="pseudoniemen, bv. P-3fa9c2d1e07b")
    p.add_argument(
        "--bronbestand",
        type=Path,
        required=True,
        metavar="BESTAND",
        help="ruw bestand met naam en geboortedatum (bv. kvk_functionarissen.csv)",
    )
    p.add_argument(
        "--reden",
        required=True,
        metavar="TEKST",
        help="grondslag of reden van de herleiding (verplicht; komt in het auditlog)",
    )


def _opts_landelijk(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gemeente",
        action="append",
        metavar="GEMEENTE",
        help="gemeente (herhaalbaar); standaard alle gemeenten met resultaten",
    )
    p.add_argument(
        "--drempel",
        type=_positive_int,
        default=10,
        metavar="N",
        help="aantallen onder N worden onderdrukt (standaard 10)",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="BESTAND",
        help="CSV-bestand voor de geanonimiseerde export",
    )


def _opts_audit(p: argparse.ArgumentParser) -> None:
    sub = _subparsers(p, "actie")
    _add_command(
        p,
        sub,
        Command(
            "controleer",
            "controleer dat het auditlog niet is gewijzigd",
            None,
            handler="",
            aliases=("verify",),
        ),
        dest="audit_command",
        value="verify",
    )
    _add_command(
        p,
        sub,
        Command("toon", "toon de laatste 20 regels van het auditlog", None, handler=""),
        dest="audit_command",
        value="toon",
    )


def _opts_ruim_op(p: argparse.ArgumentParser) -> None:
    add_gemeente(p)
    p.add_argument(
        "--ouder-dan",
        type=_non_negative_int,
        required=True,
        metavar="DAGEN",
        help="verwijder wat ouder is dan dit aantal dagen (de bewaartermijn)",
    )
    p.add_argument("--proef", action="store_true", help="toon alleen wat zou worden verwijderd")


def _opts_batch(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--gemeenten",
        nargs="+",
        metavar="GEMEENTE",
        help="gemeentecodes of -namen, bv. GM0489 Ridderkerk",
    )
    g.add_argument("--regio", action="store_true", help="alle gemeenten van de regio met invoer")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        metavar="N",
        help="aantal gemeenten tegelijk op deze computer (standaard 2); met --scheduler "
        "zonder ADRES het aantal workers van het lokale cluster",
    )
    p.add_argument(
        "--scheduler",
        nargs="?",
        const="lokaal",
        default=None,
        metavar="ADRES",
        help="draai op een dask-cluster: één taak per gemeente. Zonder ADRES een lokaal "
        "cluster met --workers workers; met ADRES (bv. tcp://10.0.0.5:8786 of tls://...) "
        "een bestaand cluster",
    )
    add_period(p)
    add_no_pdf(p)
    p.add_argument(
        "--regio-rapport",
        action="store_true",
        help="maak daarna ook het regionale overzicht uit de gelukte runs",
    )
    p.add_argument(
        "--landelijk",
        type=Path,
        metavar="BESTAND",
        help="schrijf daarna de geanonimiseerde landelijke export uit de gelukte runs",
    )
    p.add_argument(
        "--drempel",
        type=_positive_int,
        default=10,
        metavar="N",
        help="drempel van de landelijke export (standaard 10)",
    )


def _opts_vergelijk(p: argparse.ArgumentParser) -> None:
    add_gemeente(p)
    p.add_argument(
        "--huidig", type=Path, metavar="MAP", help="map van de huidige run (standaard de laatste)"
    )
    p.add_argument(
        "--vorig", type=Path, metavar="MAP", help="map van de vorige run (standaard de voorlaatste)"
    )
    p.add_argument(
        "--interventies",
        type=Path,
        metavar="BESTAND",
        help="CSV met interventies (adres, datum, type, partner)",
    )


# --------------------------------------------------------------------------- the commands
@dataclass(frozen=True)
class Command:
    """One (sub)command: Dutch name, one-line help, option adder, handler, hidden aliases.

    ``handler`` names ``bcba.commands.cmd_<handler>``; ``aliases`` are old (English) names
    that keep working but are not shown in the help.
    """

    name: str
    help: str
    options: Callable[[argparse.ArgumentParser], None] | None
    handler: str
    aliases: tuple[str, ...] = ()
    description: str = ""


COMMANDS: tuple[Command, ...] = (
    Command(
        "maak",
        "maak de volledige B-CBA voor een gemeente (HTML, PDF, kaarten, tabellen)",
        _opts_maak,
        "run",
        aliases=("run",),
    ),
    Command(
        "presentatie",
        "maak van een voltooide run de presentatie, of de hoofdlijnen voor raad, college of "
        "driehoek",
        _opts_presentatie,
        "presentatie",
    ),
    Command(
        "controleer",
        "controleer de invoer en toon datakwaliteit en geocodering",
        _opts_controleer,
        "validate",
        aliases=("validate",),
    ),
    Command(
        "gemeenten",
        "toon de meegeleverde gemeenten en welke daarvan invoerdata hebben",
        None,
        "gemeenten",
    ),
    Command(
        "demodata",
        "genereer synthetische demodata (met geplante patronen)",
        _opts_demodata,
        "demo_data",
        aliases=("demo-data",),
    ),
    Command(
        "demo",
        "genereer demodata voor Barendrecht en maak daarvan de B-CBA",
        _opts_demo,
        "demo",
    ),
    Command(
        "sleutel",
        "beheer de pseudonimiseringssleutel",
        _opts_sleutel,
        "key",
        aliases=("key",),
    ),
    Command(
        "herleid",
        "herleid pseudoniemen tot personen (wordt gelogd)",
        _opts_herleid,
        "herleid",
    ),
    Command(
        "landelijk",
        "maak de geanonimiseerde telling voor het landelijk beeld",
        _opts_landelijk,
        "export_landelijk",
        aliases=("export-landelijk",),
    ),
    Command("audit", "controleer of toon het auditlog", _opts_audit, "audit"),
    Command(
        "ruim-op",
        "verwijder verwerkte data en rapporten na de bewaartermijn",
        _opts_ruim_op,
        "opschonen",
        aliases=("opschonen",),
    ),
    Command(
        "batch",
        "maak de B-CBA voor meerdere gemeenten tegelijk (ook op een dask-cluster)",
        _opts_batch,
        "batch",
    ),
    Command(
        "vergelijk",
        "vergelijk de laatste run met de vorige (monitoring)",
        _opts_vergelijk,
        "vergelijk",
    ),
)


def _subparsers(parser: DutchArgumentParser, metavar: str):
    return parser.add_subparsers(
        title="opdrachten" if metavar == "opdracht" else "acties",
        metavar=metavar,
        required=metavar != "opdracht",
    )


def _add_command(
    owner: DutchArgumentParser, sub, cmd: Command, *, dest: str = "handler", value: str = ""
) -> None:
    """Add ``cmd`` (shown) and its aliases (hidden) to ``owner``'s subparsers ``sub``.

    The chosen command sets ``dest`` to ``value`` (default the command's handler).
    """
    description = cmd.description or cmd.help[:1].upper() + cmd.help[1:] + "."
    for name in (cmd.name, *cmd.aliases):
        if name == cmd.name:
            p = sub.add_parser(name, help=cmd.help, description=description)
        else:  # no help=: argparse then leaves the name out of the list of commands
            p = sub.add_parser(
                name, description=f"{description} ('{name}' is de oude naam van '{cmd.name}'.)"
            )
        if cmd.options is not None:
            cmd.options(p)
        p.set_defaults(**{dest: value or cmd.handler})
    owner.command_names.append(cmd.name)


def build_parser() -> DutchArgumentParser:
    """The ``bcba`` argument parser (Dutch help, usage and errors)."""
    parser = DutchArgumentParser(prog="bcba", description=DESCRIPTION)
    parser.add_argument(
        "--versie",
        "--version",
        action="version",
        version=f"bcba {__version__}",
        help="toon het versienummer en stop",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="toon ook informatieve meldingen"
    )
    sub = _subparsers(parser, "opdracht")
    for cmd in COMMANDS:
        _add_command(parser, sub, cmd)
    return parser


def short_help(parser: DutchArgumentParser) -> str:
    """What ``bcba`` without arguments prints: usage, the commands and where to find more."""
    width = max(len(c.name) for c in COMMANDS) + 2
    lines = [parser.format_usage().rstrip(), "", DESCRIPTION, "", "opdrachten:"]
    lines += [f"  {c.name:<{width}}{c.help}" for c in COMMANDS]
    lines += [
        "",
        "Meer hulp: 'bcba <opdracht> --help', bv. 'bcba maak --help'. Alle opties: 'bcba --help'.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- logging
class _DutchLevels(logging.Formatter):
    """``waarschuwing: tekst`` instead of ``WARNING name: text``; names only with -v."""

    LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "waarschuwing", "ERROR": "fout"}

    def __init__(self, *, verbose: bool) -> None:
        super().__init__()
        self._verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        level = self.LEVELS.get(record.levelname, record.levelname.lower())
        where = f" ({record.name})" if self._verbose else ""
        return f"{level}{where}: {record.getMessage()}"


class _OncePerRun(logging.Filter):
    """Shows each distinct message once per command, however often it is logged."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the message."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def _setup_logging(verbose: bool) -> None:
    """Dutch log lines on stderr, each distinct one once; INFO with ``-v``."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(_DutchLevels(verbose=verbose))
    handler.addFilter(_OncePerRun())
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # third-party chatter that says nothing to an analyst
    for name in ("papermill", "numexpr", "distributed", "traitlets", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # the kernel's client logs a dead kernel in English; bcba says it in Dutch
    for name in ("nbclient", "jupyter_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- main
def _pydantic_message(error: dict) -> str:
    """The Dutch text of one pydantic error: our validators' own message without pydantic's
    English prefix ("Value error, ..."); others name the field."""
    cause = (error.get("ctx") or {}).get("error")
    if cause is not None:
        return str(cause)
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"ongeldige waarde voor {where}" if where else "ongeldige waarde"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stdout.write(short_help(parser))
        return 0
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if not getattr(args, "handler", None):
        sys.stdout.write(short_help(parser))
        return 0
    from bcba import commands

    handler = getattr(commands, "cmd_" + args.handler)
    started = time.perf_counter()
    try:
        return int(handler(args) or 0)
    except BcbaError as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Afgebroken.", file=sys.stderr)
        return 130
    except ValidationError as exc:  # an invalid RunConfig built from the arguments
        problems = "; ".join(_pydantic_message(e) for e in exc.errors())
        print(f"fout in de opdracht: {problems}", file=sys.stderr)
        return 2
    finally:
        log.info("klaar in %s s", f"{time.perf_counter() - started:.1f}".replace(".", ","))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
