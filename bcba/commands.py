"""Implementations of the CLI commands (argument parsing lives in :mod:`bcba.cli`).

Each ``cmd_<name>(args) -> int`` prints Dutch output for the analyst; errors are raised as
:class:`bcba.errors.BcbaError` and turned into exit code 2 by the CLI.
"""

from __future__ import annotations

import argparse
import datetime as dt

from bcba import config
from bcba.errors import ConfigError, MissingInputError


def _print(text: str = "") -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(text)


def _table(frame, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(highlight=False).print(table)


def _period(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    start, end = config.default_period()
    return (
        getattr(args, "periode_start", None) or start,
        getattr(args, "periode_eind", None) or end,
    )


def cmd_gemeenten(args: argparse.Namespace) -> int:
    from bcba import reference

    table = reference.gemeenten()
    raw = config.raw_dir()
    table["heeft_data"] = [
        (raw / code / "bag_adressen.csv").exists() or (raw / code / "bag_adressen.gpkg").exists()
        for code in table["gemeentecode"]
    ]
    yes = {True: "ja", False: "-"}
    shown = table[["gemeentecode", "gemeentenaam", "veiligheidsregio"]].copy()
    for column, label in [
        ("heeft_buurten", "buurten"),
        ("heeft_vierkanten", "100m-vierkanten"),
        ("heeft_data", "invoerdata"),
    ]:
        shown[label] = table[column].map(yes)
    _table(shown, "Meegeleverde gemeenten (RIEC Rotterdam)")
    _print(
        "Bron: CBS, Wijk- en buurtkaart 2024. Gemeenten zonder buurten: lever 'gebieden.gpkg' aan."
    )
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from bcba import reference, synthetic

    gem = reference.resolve_gemeente(args.gemeente)
    out = args.out or (config.raw_dir() / gem.code)
    seed = config.DEMO_SEED if args.seed is None else args.seed
    planted = synthetic.generate(
        gem.code, out, seed=seed, periode=_period(args), scenario=args.scenario
    )
    _print(
        f"Synthetische demodata voor {gem.naam} ({gem.code}), seed {seed}, geschreven naar {out}"
    )
    _print(
        f"Geplante patronen: {len(planted.get('risicolocaties', []))} risicolocaties, "
        f"{len(planted.get('netwerken', []))} netwerken (zie planted.json)."
    )
    return 0


def _ensure_demo_key() -> None:
    from bcba import keys

    if keys.load_key(required=False) is None:
        path = keys.init_key()
        _print(
            f"Nieuwe pseudonimiseringssleutel aangemaakt: {path} (bewaar deze veilig, buiten de repository)."
        )


def cmd_validate(args: argparse.Namespace) -> int:
    from bcba import keys, reference
    from bcba.sources import load_inputs

    gem = reference.resolve_gemeente(args.gemeente)
    data_dir = args.data_dir or (config.raw_dir() / gem.code)
    if not data_dir.exists():
        raise MissingInputError(
            f"Invoermap {data_dir} bestaat niet. Maak demodata met 'bcba demo-data --gemeente {gem.code}'."
        )
    inputs = load_inputs(gem.code, data_dir=data_dir, periode=_period(args), key=keys.load_key())
    _table(inputs.bronnen, f"Bronnen voor {gem.naam}")
    if len(inputs.kwaliteit):
        _table(inputs.kwaliteit, "Datakwaliteit (rijen behouden en gemarkeerd)")
    _table(inputs.geocodering, "Geocodering")
    _print("Invoer is geldig.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bcba import pipeline

    cfg = pipeline.make_run_config(
        gemeente=args.gemeente,
        data_dir=args.data_dir,
        output_dir=args.out,
        periode=_period(args),
        ontvanger=args.ontvanger,
        thema_config=args.thema_config,
        tegel_url=args.tegel_url,
    )
    result = pipeline.run_report(
        cfg, pdf=not args.geen_pdf, encrypt_for=args.versleutel_voor, progress=True
    )
    _print(f"Rapport: {result.html}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bcba import pipeline, reference, synthetic

    gem = reference.resolve_gemeente(config.DEMO_GEMEENTE)
    out = config.raw_dir() / gem.code
    _ensure_demo_key()
    synthetic.generate(gem.code, out, seed=config.DEMO_SEED, periode=config.default_period())
    _print(f"Demodata voor {gem.naam} gegenereerd in {out}")
    cfg = pipeline.make_run_config(gemeente=gem.code, data_dir=out, periode=config.default_period())
    result = pipeline.run_report(cfg, pdf=not args.geen_pdf, progress=True)
    _print(f"Rapport (STRIKT VERTROUWELIJK): {result.html}")
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    from bcba import keys

    if args.key_command != "init":
        raise ConfigError("Gebruik: bcba key init [--pad BESTAND] [--overschrijf]")
    path = keys.init_key(args.pad, overwrite=args.overschrijf)
    _print(
        f"Sleutel aangemaakt: {path} (modus 0600). Bewaar een kopie veilig; zonder sleutel "
        "zijn pseudoniemen niet herleidbaar en niet reproduceerbaar."
    )
    return 0


def cmd_herleid(args: argparse.Namespace) -> int:
    from bcba import keys, privacy

    frame = privacy.herleid(
        args.pseudoniemen, args.bronbestand, key=keys.load_key(), reason=args.reden
    )
    _table(frame, "Herleiding (gelogd in het auditlog)")
    return 0


def cmd_export_landelijk(args: argparse.Namespace) -> int:
    from bcba import pipeline

    path = pipeline.export_national(args.gemeente, out=args.out, threshold=args.drempel)
    _print(f"Geanonimiseerde export geschreven: {path}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from bcba import audit

    if args.audit_command == "verify":
        result = audit.verify()
        _print(result.melding)
        return 0 if result.ok else 2
    if args.audit_command == "toon":
        for entry in audit.read_entries()[-20:]:
            _print(
                f"{entry.get('seq')}  {entry.get('tijdstip', entry.get('timestamp'))}  "
                f"{entry.get('gebruiker', entry.get('user'))}  {entry.get('command')}"
            )
        return 0
    raise ConfigError("Gebruik: bcba audit verify | bcba audit toon")


def cmd_opschonen(args: argparse.Namespace) -> int:
    from bcba import reference, retention

    gem = reference.resolve_gemeente(args.gemeente)
    removed = retention.opschonen(
        gem.code,
        ouder_dan_dagen=args.ouder_dan,
        processed_root=config.processed_dir(),
        reports_root=config.reports_dir(),
        dry_run=args.proef,
    )
    verb = "Zou verwijderen" if args.proef else "Verwijderd"
    for path in removed:
        _print(f"{verb}: {path}")
    _print(f"{len(removed)} map(pen) {'gevonden' if args.proef else 'verwijderd'}.")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from bcba import batch

    summary = batch.run_batch(
        gemeenten=args.gemeenten,
        regio=args.regio,
        workers=args.workers,
        periode=_period(args),
        pdf=not args.geen_pdf,
        regio_rapport=args.regio_rapport,
        progress=True,
    )
    _table(summary, "Samenvatting batch")
    return 0 if (summary["status"] == "klaar").all() else 2


def cmd_vergelijk(args: argparse.Namespace) -> int:
    from bcba import monitoring, reference

    gem = reference.resolve_gemeente(args.gemeente)
    result = monitoring.vergelijk(
        gem.code, current=args.huidig, previous=args.vorig, interventions=args.interventies
    )
    _table(result.summary, f"Verandering t.o.v. de vorige run ({gem.naam})")
    _print(f"Vergelijking geschreven naar {result.path}")
    return 0
