"""Maps of the B-CBA: one palette, offline interactive maps, static print maps, map book."""

from bcba.maps import palette
from bcba.maps.offline import offline_map, save_offline_html, to_offline_html

__all__ = ["offline_map", "palette", "save_offline_html", "to_offline_html"]
