"""Implementations of the CLI commands (argument parsing lives in :mod:`bcba.cli`).

Each ``cmd_<name>(args) -> int`` prints Dutch output for the analyst on stdout; errors are
raised as :class:`bcba.errors.BcbaError` and turned into exit code 2 by the CLI. Long
commands show their progress with :class:`ProgressDisplay`: a live line on a terminal, one
line per stage otherwise (log files, CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time

from bcba import config
from bcba.errors import ConfigError, MissingInputError


# --------------------------------------------------------------------------- output
def _console():
    from rich.console import Console

    # without a terminal rich assumes 80 columns: tables would wrap into unreadable cells
    tty = sys.stdout.isatty()
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, width=None if tty else 160)


def _print(text: str = "") -> None:
    _console().print(text, markup=False)


def _table(frame, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = column in ("Aantal", "Aandeel", "Records", "rijen", "aantal")
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*["" if v is None else str(v) for v in row])
    _console().print(table)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:d}:{secs:02d}"


class ProgressDisplay:
    """Shows the stages of a long command while it runs.

    On a terminal a live line (spinner, current stage, a bar once stages say how far the run
    is, elapsed time); otherwise one line per stage, ``[m:ss] stage``, and every
    :attr:`heartbeat_s` without a new stage a line saying which stage is still running.
    Stages come from :func:`bcba.progress.stage`, in this process or any child process
    (the papermill kernel, the second process): the display sets up the progress file.
    """

    heartbeat_s = 30.0
    poll_s = 0.25

    def __init__(self, title: str, *, stream=None, tty: bool | None = None) -> None:
        self.title = title
        self._stream = stream if stream is not None else sys.stdout
        self._tty = self._stream.isatty() if tty is None else tty
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current = title
        self._last_line = 0.0

    def __enter__(self) -> ProgressDisplay:
        from bcba import progress

        self._started = time.monotonic()
        self._reporting = progress.reporting()
        self._follower = progress.Follower(self._reporting.__enter__())
        if self._tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            self._live.start()
            self._task = self._live.add_task(self.title, total=None)
        else:
            self._line(self.title)
        self._thread = threading.Thread(target=self._follow, name="bcba-voortgang", daemon=True)
        self._thread.start()
        return self

    def stage(self, text: str, *, done: float | None = None) -> None:
        """Announce a stage of this process (same path as the library's stages)."""
        from bcba import progress

        progress.stage(text, done=done)
        self._poll()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()
        if self._tty:
            self._live.stop()
        self._reporting.__exit__(*exc)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    # ---------------------------------------------------------------- internals
    def _follow(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._poll()
            if not self._tty and time.monotonic() - self._last_line >= self.heartbeat_s:
                self._line(f"... nog bezig: {self._current}")

    def _poll(self) -> None:
        with self._lock:
            for item in self._follower.new_stages():
                self._current = item.text
                if self._tty:
                    update = {"description": item.text}
                    if item.done is not None:
                        update.update(total=1.0, completed=min(max(item.done, 0.0), 1.0))
                    self._live.update(self._task, **update)
                else:
                    self._line(item.text)

    def _line(self, text: str) -> None:
        self._last_line = time.monotonic()
        print(f"[{_duration(self.elapsed)}] {text}", file=self._stream, flush=True)


def _period(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    start, end = config.default_period()
    return (
        getattr(args, "periode_start", None) or start,
        getattr(args, "periode_eind", None) or end,
    )


# --------------------------------------------------------------------------- commands
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
    shown.columns = ["Code", "Gemeente", "Veiligheidsregio"]
    for column, label in [
        ("heeft_buurten", "Buurten"),
        ("heeft_vierkanten", "100m-vierkanten"),
        ("heeft_data", "Invoerdata"),
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
        f"{len(planted.get('netwerken', []))} netwerken (zie planted.json). "
        f"De map is gemarkeerd als demo ({synthetic.DEMO_MARKER})."
    )
    return 0


def _ensure_demo_key() -> None:
    from bcba import keys

    if keys.load_key(required=False) is None:
        path = keys.init_key()
        _print(
            f"Nieuwe pseudonimiseringssleutel aangemaakt: {path} "
            "(bewaar deze veilig, buiten de repository)."
        )


def cmd_validate(args: argparse.Namespace) -> int:
    from bcba import input_summary as summary
    from bcba import keys, reference
    from bcba.io import write_text
    from bcba.sources import categories, load_inputs

    gem = reference.resolve_gemeente(args.gemeente)
    data_dir = args.data_dir or (config.raw_dir() / gem.code)
    if not data_dir.exists():
        raise MissingInputError(
            f"Invoermap {data_dir} bestaat niet. Maak demodata met "
            f"'bcba demodata --gemeente {gem.code}'."
        )
    start, end = _period(args)
    inputs = load_inputs(gem.code, data_dir=data_dir, periode=(start, end), key=keys.load_key())
    _table(
        summary.sources_table(inputs.bronnen),
        f"Bronnen voor {gem.naam} ({gem.code}), analyseperiode "
        f"{summary.nl_date(start)} t/m {summary.nl_date(end)}",
    )
    if len(inputs.kwaliteit):
        _table(
            summary.quality_table(inputs.kwaliteit, inputs.bronnen, inputs.geocodering),
            "Datakwaliteit (rijen behouden en gemarkeerd; aandeel van de records van de bron)",
        )
        for line in summary.quality_legend(inputs.kwaliteit):
            _print(f"  {line}")
    _table(summary.geocoding_table(inputs.geocodering), "Geocodering")
    for line in categories.warnings(inputs.categorieen):
        _print(f"waarschuwing: {line}")
    skeleton = getattr(args, "mapping_skelet", None)
    if skeleton is not None:
        if skeleton.exists():
            raise ConfigError(
                f"{skeleton} bestaat al; kies een nieuwe bestandsnaam (een bestaande koppeltabel "
                "wordt nooit overschreven)."
            )
        text = categories.mapping_skeleton(inputs.categorieen)
        if text:
            write_text(skeleton, text)
            _print(f"Koppeltabel met de niet-gekoppelde categorieën geschreven naar {skeleton}.")
        else:
            _print("Alle partnercategorieën zijn gekoppeld; er is geen koppeltabel nodig.")
    _print(summary.verdict(inputs.bronnen, inputs.kwaliteit, inputs.geocodering).text())
    return 0


def _run_with_progress(cfg, *, pdf: bool, encrypt_for=None, display: ProgressDisplay):
    from bcba import pipeline

    display.stage("Analyse en rapport maken")
    return pipeline.run_report(cfg, pdf=pdf, encrypt_for=encrypt_for)


def _council_audience(args: argparse.Namespace) -> str | None:
    """The audience of the hoofdlijnen (checked before anything is made), or None."""
    if getattr(args, "voor", None) is not None and not args.hoofdlijnen:
        raise ConfigError(
            "--voor hoort bij --hoofdlijnen: de presentatie zonder --hoofdlijnen is voor de "
            "ontvanger van het rapport."
        )
    if not getattr(args, "hoofdlijnen", False):
        return None
    from bcba.report.hoofdlijnen import DEFAULT_AUDIENCE, audience

    return audience(args.voor or DEFAULT_AUDIENCE)


def _make_versions(
    folder, args: argparse.Namespace, *, presentatie: bool, display: ProgressDisplay | None = None
) -> list[str]:
    """Make the presentation and/or the hoofdlijnen of a finished run; lines to print."""
    lines = []
    if presentatie:
        from bcba.report.deck import build_presentation

        if display is not None:
            display.stage("Presentatie maken")
        path = build_presentation(folder)
        lines.append(f"Presentatie (STRIKT VERTROUWELIJK): {path}")
    if args.hoofdlijnen:
        from bcba.report.hoofdlijnen import MARKING, build_hoofdlijnen

        if display is not None:
            display.stage("Hoofdlijnen maken")
        publiek = _council_audience(args)
        result = build_hoofdlijnen(
            folder, voor=publiek, drempel=args.drempel, pdf=not args.geen_pdf
        )
        lines.append(f"Hoofdlijnen ({MARKING}, voor {publiek}): {result.pdf or result.html}")
        lines.append(f"Presentatie van de hoofdlijnen: {result.deck}")
    return lines


def _latest_run(gemeente: str):
    from bcba import reference, runs

    gem = reference.resolve_gemeente(gemeente)
    base = config.reports_dir() / gem.slug
    found = runs.completed_runs(base)
    if not found:
        raise MissingInputError(
            f"Geen voltooide run van {gem.naam} in {base}. Maak eerst de B-CBA met "
            f"'bcba maak --gemeente {gem.code}', of geef de runmap met --run."
        )
    return found[-1]


def cmd_presentatie(args: argparse.Namespace) -> int:
    _council_audience(args)  # a bad --voor fails before anything is read
    folder = args.run if args.run is not None else _latest_run(args.gemeente)
    for line in _make_versions(folder, args, presentatie=not args.hoofdlijnen):
        _print(line)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bcba import pipeline, reference
    from bcba.worker import guarded

    _council_audience(args)  # a bad --voor fails now, not after the run
    cfg = pipeline.make_run_config(
        gemeente=args.gemeente,
        data_dir=args.data_dir,
        output_dir=args.out,
        periode=_period(args),
        ontvanger=args.ontvanger,
        thema_config=args.thema_config,
        tegel_url=args.tegel_url,
        gebied=getattr(args, "gebied", None),
        gebied_bestand=getattr(args, "gebied_bestand", None),
        gebied_naam=getattr(args, "gebied_naam", ""),
        knooppunt_sbi=getattr(args, "knooppunt_sbi", None),
        knooppunt_naam=getattr(args, "knooppunt", ""),
    )
    naam = reference.resolve_gemeente(cfg.gemeente).naam
    # the guard first: the progress file is then among the run's temporary files
    with guarded(), ProgressDisplay(f"B-CBA maken voor {naam} ({cfg.gemeente})") as display:
        result = _run_with_progress(
            cfg, pdf=not args.geen_pdf, encrypt_for=args.versleutel_voor, display=display
        )
        extra = _make_versions(
            result.output_dir, args, presentatie=args.presentatie, display=display
        )
        elapsed = display.elapsed
    _print(f"Klaar in {_duration(elapsed)}. Rapport (STRIKT VERTROUWELIJK): {result.html}")
    for line in extra:
        _print(line)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bcba import pipeline, reference, synthetic
    from bcba.worker import guarded

    gem = reference.resolve_gemeente(config.DEMO_GEMEENTE)
    out = args.data_dir or (config.raw_dir() / gem.code)
    synthetic.check_demo_target(out)  # before the key or anything else is made
    _ensure_demo_key()
    with (
        guarded(),
        ProgressDisplay(f"Demo: B-CBA voor {gem.naam} uit synthetische gegevens") as display,
    ):
        display.stage(f"Demodata genereren in {out}")
        synthetic.generate(gem.code, out, seed=config.DEMO_SEED, periode=config.default_period())
        cfg = pipeline.make_run_config(
            gemeente=gem.code, data_dir=out, periode=config.default_period()
        )
        result = _run_with_progress(cfg, pdf=not args.geen_pdf, display=display)
        elapsed = display.elapsed
    _print(f"Klaar in {_duration(elapsed)}. Rapport (STRIKT VERTROUWELIJK): {result.html}")
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    from bcba import keys

    if args.key_command != "init":
        raise ConfigError("Gebruik: bcba sleutel nieuw [--pad BESTAND] [--overschrijf]")
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
    raise ConfigError("Gebruik: bcba audit controleer | bcba audit toon")


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
    n = len(removed)
    noun = "map of bestand" if n == 1 else "mappen en bestanden"
    _print(f"{n} {noun} {'gevonden' if args.proef else 'verwijderd'}.")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from bcba import batch
    from bcba.maps.palette import format_number_nl

    title = "Batch" + (f" op dask ({args.scheduler})" if args.scheduler else "")
    with ProgressDisplay(title) as display:

        def on_progress(text: str, done: int, total: int) -> None:
            display.stage(f"{text} ({done} van {total})", done=done / total)

        summary = batch.run_batch(
            gemeenten=args.gemeenten,
            regio=args.regio,
            workers=args.workers,
            scheduler=args.scheduler,
            periode=_period(args),
            pdf=not args.geen_pdf,
            regio_rapport=args.regio_rapport,
            landelijk=args.landelijk,
            drempel=args.drempel,
            on_progress=on_progress,
        )
    shown = summary.rename(
        columns={
            "gemeente": "Code",
            "naam": "Gemeente",
            "status": "Status",
            "reden": "Reden",
            "duur_s": "Duur (s)",
            "rapport": "Rapport",
        }
    )
    shown["Duur (s)"] = summary["duur_s"].map(lambda s: format_number_nl(s, 1))
    _table(shown, "Samenvatting batch")
    return 0 if (summary["status"] == batch.KLAAR).all() else 2


def cmd_vergelijk(args: argparse.Namespace) -> int:
    from bcba import monitoring, reference

    gem = reference.resolve_gemeente(args.gemeente)
    result = monitoring.vergelijk(
        gem.code, current=args.huidig, previous=args.vorig, interventions=args.interventies
    )
    _table(result.summary, f"Verandering t.o.v. de vorige run ({gem.naam})")
    _print(f"Vergelijking geschreven naar {result.path}")
    return 0
