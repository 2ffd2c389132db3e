"""Reading, validating, pseudonymising and geocoding the raw extracts of a municipality.

One module per source (``kvk``, ``kadaster``, ``bag``, ``survey``, ``partners``, ``cbs``),
offline geocoding in ``geocode``, data-quality tables in ``quality`` and the combined
:class:`Inputs` in ``bundle``.
"""

from bcba.sources._read import SourceResult
from bcba.sources.bag import read_bag
from bcba.sources.bundle import Inputs, load_inputs, validate, write_processed
from bcba.sources.geocode import build_index, geocode
from bcba.sources.kadaster import read_kadaster
from bcba.sources.kvk import read_kvk_functionarissen, read_kvk_vestigingen
from bcba.sources.partners import read_partners
from bcba.sources.quality import kwaliteitsrapport
from bcba.sources.survey import SurveyData, read_survey

__all__ = [
    "Inputs",
    "SourceResult",
    "SurveyData",
    "build_index",
    "geocode",
    "kwaliteitsrapport",
    "load_inputs",
    "read_bag",
    "read_kadaster",
    "read_kvk_functionarissen",
    "read_kvk_vestigingen",
    "read_partners",
    "read_survey",
    "validate",
    "write_processed",
]
