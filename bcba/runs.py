"""Run configurations: defaults resolved into a validated :class:`~bcba.config.RunConfig`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bcba import config
from bcba.config import RunConfig
from bcba.errors import ConfigError, MissingInputError
from bcba.reference import resolve_gemeente


def _as_date(value: str | dt.date | None, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    raise ConfigError(f"{what}: ongeldige datum {value!r}; gebruik jjjj-mm-dd")


def make_run_config(
    *,
    gemeente: str,
    data_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    periode: tuple[dt.date | str | None, dt.date | str | None] | None = None,
    ontvanger: str = "Burgemeester",
    rapport_id: str = "",
    thema_config: str | Path | None = None,
    tegel_url: str | None = None,
    today: dt.date | None = None,
) -> RunConfig:
    """Resolve defaults (folders, period, report id) into a validated :class:`RunConfig`."""
    from bcba.privacy import new_report_id

    gem = resolve_gemeente(gemeente)
    today = today or dt.date.today()
    default_start, default_end = config.default_period(today)
    start = _as_date(periode[0], "periode_start") if periode else None
    end = _as_date(periode[1], "periode_eind") if periode else None
    data = Path(data_dir) if data_dir not in (None, "") else config.raw_dir() / gem.code
    if not data.is_dir():
        raise MissingInputError(
            f"Invoermap {data} bestaat niet. Zet de extracten daar neer, of maak demodata met "
            f"'bcba demo-data --gemeente {gem.code}'."
        )
    out = (
        Path(output_dir)
        if output_dir not in (None, "")
        else config.reports_dir() / gem.slug / today.isoformat()
    )
    theme_path = Path(thema_config) if thema_config not in (None, "") else None
    if theme_path is not None and not theme_path.is_file():
        raise MissingInputError(f"Thema-configuratie {theme_path} bestaat niet.")
    return RunConfig(
        gemeente=gem.code,
        data_dir=data.resolve(),
        output_dir=out.resolve(),
        periode_start=start or default_start,
        periode_eind=end or default_end,
        ontvanger=ontvanger or "Burgemeester",
        rapport_id=rapport_id or new_report_id(gem.code, today),
        thema_config=theme_path,
        tegel_url=tegel_url or None,
    )


#: Files only the synthetic generator writes into a raw folder.
DEMO_MARKERS = ("DEMO_SYNTHETISCH.txt", "planted.json")


def is_demo_data(folder: str | Path) -> bool:
    """Whether ``folder`` holds generated (synthetic) demo data: the generator leaves a marker."""
    return any((Path(folder) / name).is_file() for name in DEMO_MARKERS)
