"""One place for paths, settings and the validated run configuration."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The coordinate reference system of every analysis: Amersfoort / RD New.
CRS = "EPSG:28992"
#: Web maps only: folium layers are reprojected to WGS84 at the very last step.
WEB_CRS = "EPSG:4326"

PACKAGE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = PACKAGE_DIR / "reference_data"
DEFAULTS_DIR = PACKAGE_DIR / "defaults"  # versioned YAML defaults (themes, weights)
ASSETS_DIR = PACKAGE_DIR / "assets"


def project_root() -> Path:
    """The project folder: ``$BCBA_HOME`` if set, else the source checkout, else the cwd."""
    env = os.environ.get("BCBA_HOME")
    if env:
        return Path(env).expanduser().resolve()
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").exists():
        return candidate
    return Path.cwd().resolve()


def raw_dir() -> Path:
    """Read-only raw input: ``data/raw/<GMxxxx>/`` per municipality."""
    return project_root() / "data" / "raw"


def processed_dir() -> Path:
    """Processed data, rebuilt by code: ``data/processed/<GMxxxx>/``."""
    return project_root() / "data" / "processed"


def reports_dir() -> Path:
    """Generated reports: ``reports/<GMxxxx>_<naam>/<date>/``."""
    return project_root() / "reports"


def _project_or_checkout(name: str) -> Path:
    """``<project root>/<name>`` when present, else the folder in the source checkout."""
    here = project_root() / name
    return here if here.is_dir() else PACKAGE_DIR.parent / name


def notebooks_dir() -> Path:
    """The report notebooks (a project may carry its own adapted copies)."""
    return _project_or_checkout("notebooks")


def templates_dir() -> Path:
    """The nbconvert templates (a project may carry its own adapted copies)."""
    return _project_or_checkout("templates")


#: The municipality the demo runs for.
DEMO_GEMEENTE = "GM0489"  # Barendrecht
DEMO_SEED = 20240101


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The default analysis period: the two full calendar years before ``today``."""
    today = today or dt.date.today()
    return dt.date(today.year - 2, 1, 1), dt.date(today.year - 1, 12, 31)


#: What a recipient may contain: letters (with accents), digits, space and . , - ' ( ) / &
SAFE_RECIPIENT = re.compile(r"[^\W_](?:[\w .,'()/&-]{0,118}[\w.)])?")
#: What a report id may contain.
SAFE_REPORT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RunConfig(BaseModel):
    """A validated B-CBA run: what is analysed, from where, to where and for whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gemeente: str = Field(
        description="Municipality code GMxxxx, or the members of a cluster joined by + "
        "(GM0531+GM0642), already resolved"
    )
    data_dir: Path
    #: every input folder: ``[data_dir]``, or one folder per member of a cluster
    data_dirs: list[Path] = Field(default_factory=list)
    #: focus: wijk/buurt codes or names, or an area file (polygons), with its name
    gebied: list[str] = Field(default_factory=list)
    gebied_bestand: Path | None = None
    gebied_naam: str = ""
    #: focus on a branch (a knooppunt): SBI code prefixes, with a name
    knooppunt_sbi: list[str] = Field(default_factory=list)
    knooppunt_naam: str = ""
    output_dir: Path
    periode_start: dt.date
    periode_eind: dt.date
    ontvanger: str = Field(default="Burgemeester", min_length=1)
    rapport_id: str = Field(default="", description="Unique report id; generated when empty")
    thema_config: Path | None = None
    tegel_url: str | None = Field(default=None, description="Internal tile server URL, if any")
    seed: int = 0

    @field_validator("ontvanger")
    @classmethod
    def _recipient(cls, v: str) -> str:
        # the recipient is printed in the report, its attributes and the PDF header: only
        # the characters a name or function needs
        text = " ".join(v.split())
        if not SAFE_RECIPIENT.fullmatch(text):
            raise ValueError(
                f"ontvanger {v!r} bevat tekens die niet zijn toegestaan; gebruik letters, cijfers, "
                "spaties en . , - ' ( ) / & (bijvoorbeeld 'Burgemeester A. de Vries')"
            )
        return text

    @field_validator("rapport_id")
    @classmethod
    def _report_id(cls, v: str) -> str:
        if v and not SAFE_REPORT_ID.fullmatch(v):
            raise ValueError(
                f"rapportnummer {v!r} is ongeldig; gebruik 1 tot 64 letters, cijfers, '.', '_' of '-'"
            )
        return v

    @field_validator("gemeente")
    @classmethod
    def _code(cls, v: str) -> str:
        for part in v.split("+"):
            if not (len(part) == 6 and part.startswith("GM") and part[2:].isdigit()):
                raise ValueError(f"gemeentecode moet de vorm GMxxxx hebben, niet {v!r}")
        return v

    @field_validator("gebied_naam", "knooppunt_naam")
    @classmethod
    def _names(cls, v: str) -> str:
        text = " ".join(v.split())
        if text and not SAFE_RECIPIENT.fullmatch(text):
            raise ValueError(
                f"naam {v!r} bevat tekens die niet zijn toegestaan (letters, cijfers, spaties, . , - ' ( ) / &)"
            )
        return text

    @field_validator("knooppunt_sbi")
    @classmethod
    def _sbi(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not re.fullmatch(r"\d{2,5}", str(c).strip())]
        if bad:
            raise ValueError(
                f"SBI-codes bestaan uit 2 tot 5 cijfers; ongeldig: {', '.join(map(repr, bad))}"
            )
        return [str(c).strip() for c in v]

    @model_validator(mode="after")
    def _folders(self) -> RunConfig:
        if not self.data_dirs:
            object.__setattr__(self, "data_dirs", [self.data_dir])
        return self

    @model_validator(mode="after")
    def _period(self) -> RunConfig:
        if self.periode_eind < self.periode_start:
            raise ValueError(
                f"periode_eind ({self.periode_eind}) ligt voor periode_start ({self.periode_start})"
            )
        return self
