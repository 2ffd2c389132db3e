"""bcba: an offline workbench for the bestuurlijke criminaliteitsbeeldanalyse (B-CBA)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bcba")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
