#!/usr/bin/env python
"""Pre-commit hook: refuse confidential files and notebooks with output.

Usage: ``python scripts/check_repo_hygiene.py FILE [FILE ...]`` (pre-commit passes the
staged files). Exits 1 with a Dutch message per refused file, 0 when all are fine.

Refused:

* anything under ``data/raw/`` except ``data/raw/README.md``, ``.gitkeep`` files and the
  synthetic demo data under ``data/raw/demo/``;
* anything under ``data/processed/`` and ``reports/`` except ``README.md`` / ``.gitkeep``;
* key files (``*.key``, names starting with ``sleutel`` unless .md/.py/.rst) and age bundles (``*.age``);
* notebooks (``*.ipynb``) with outputs or execution counts (clear them with nbstripout).

Stdlib only, so it runs without the project's environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import PurePosixPath

ALLOWED_PLACEHOLDERS = frozenset({"README.md", ".gitkeep"})
#: Synthetic, generated demo extracts may be committed (see CONVENTIONS.md, .gitignore).
DEMO_PREFIX = ("data", "raw", "demo")
#: ``sleutel*`` files with these suffixes are documentation or code, not keys.
DOC_SUFFIXES = frozenset({".md", ".py", ".rst"})


def _posix(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in path.parts if p not in (".", "")]
    return PurePosixPath(*parts) if parts else path


def notebook_problem(path: str) -> str | None:
    """Why a notebook may not be committed (outputs, counts, unreadable), or None."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except FileNotFoundError:
        return None  # deleted in this commit
    except (OSError, ValueError) as exc:
        return f"notebook is onleesbaar ({exc.__class__.__name__})"
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    with_output = sum(1 for c in cells if c.get("outputs"))
    counted = sum(1 for c in cells if c.get("execution_count") is not None)
    if with_output or counted:
        return (
            f"notebook bevat uitvoer ({with_output} cel(len) met uitvoer, {counted} met "
            "uitvoeringsnummer); uitvoer kan vertrouwelijke gegevens bevatten. "
            f"Wis de uitvoer met 'nbstripout {path}'"
        )
    return None


def problem(name: str) -> str | None:
    """The Dutch reason a file may not be committed, or None."""
    path = _posix(name)
    parts = path.parts
    base = path.name
    lower = base.lower()
    if lower.endswith(".key") or (lower.startswith("sleutel") and path.suffix not in DOC_SUFFIXES):
        return "sleutelbestand; een sleutel hoort nooit in de repository (bewaar hem in ~/.config/bcba/)"
    if lower.endswith(".age"):
        return "versleuteld rapportpakket (.age); verstuur het, maar commit het niet"
    if parts[:2] == ("data", "raw"):
        if parts[:3] == DEMO_PREFIX and len(parts) > 3:
            return None
        if len(parts) == 3 and base in ALLOWED_PLACEHOLDERS:
            return None
        return "ruwe brondata (data/raw) bevatten persoonsgegevens en worden nooit gecommit"
    if parts[:2] == ("data", "processed"):
        if len(parts) == 3 and base in ALLOWED_PLACEHOLDERS:
            return None
        return "bewerkte data (data/processed) worden door code opnieuw gemaakt en nooit gecommit"
    if parts[:1] == ("reports",):
        if len(parts) == 2 and base in ALLOWED_PLACEHOLDERS:
            return None
        return "rapporten (reports/) zijn vertrouwelijke uitvoer en worden nooit gecommit"
    if lower.endswith(".ipynb"):
        return notebook_problem(name)
    return None


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    refused = [(n, why) for n in names if (why := problem(n))]
    if not refused:
        return 0
    lines = [f"Commit geweigerd: {len(refused)} bestand(en) mogen niet in de repository:"]
    lines += [f"  - {n}: {why}" for n, why in refused]
    lines.append("Haal ze uit de commit met 'git restore --staged <bestand>'.")
    sys.stderr.write("\n".join(lines) + "\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
