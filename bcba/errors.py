"""The small exception hierarchy of bcba.

Every error that a user can cause subclasses :class:`BcbaError`; the CLI prints its
Dutch message and exits with code 2 instead of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class BcbaError(Exception):
    """Base class of all errors a user (analyst) can cause and fix."""

    exit_code = 2


class UnknownMunicipalityError(BcbaError, LookupError):
    """A municipality code or name that does not resolve to a shipped or supplied area."""


class ConfigError(BcbaError, ValueError):
    """An invalid run configuration, theme configuration or argument value."""


class MissingInputError(BcbaError, FileNotFoundError):
    """A required input file (or folder) is absent."""


class CRSMismatchError(BcbaError, ValueError):
    """Two layers in different coordinate reference systems were combined."""


class PrivacyError(BcbaError):
    """A missing or invalid pseudonymisation key, or a blocked privacy-sensitive action."""


class AuditError(BcbaError):
    """The audit log is missing, unreadable or has been tampered with."""


class RunError(BcbaError):
    """A run failed; the message says why in Dutch (the traceback is in the run's debug log)."""


@dataclass(frozen=True)
class InputProblem:
    """One failed check in an input file, located as the analyst sees it in Excel."""

    file: str
    row: int | None  # Excel row number: header = row 1, first data row = 2
    column: str | None
    check: str
    value: object = None
    fix: str = ""
    sheet: str | None = None

    def to_dutch(self) -> str:
        where = [f"bestand {self.file}"]
        if self.sheet:
            where.append(f"blad {self.sheet}")
        if self.row is not None:
            where.append(f"rij {self.row}")
        if self.column:
            where.append(f"kolom '{self.column}'")
        text = ", ".join(where) + f": {self.check}"
        if self.value is not None and str(self.value) != "":
            text += f" (waarde: {self.value!r})"
        if self.fix:
            text += f". Oplossing: {self.fix}"
        return text


@dataclass
class InputValidationError(BcbaError, ValueError):
    """An input file failed validation; lists every problem found, not just the first."""

    problems: list[InputProblem] = field(default_factory=list)
    max_listed: int = 50

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"Invoer afgekeurd: {n} {'probleem' if n == 1 else 'problemen'} gevonden."
        lines = [head] + ["  - " + p.to_dutch() for p in self.problems[: self.max_listed]]
        if n > self.max_listed:
            lines.append(f"  ... en nog {n - self.max_listed} meer (zie het validatierapport).")
        return "\n".join(lines)
