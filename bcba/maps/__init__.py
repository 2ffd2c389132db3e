"""Maps of the B-CBA: one palette, one basemap per run, offline interactive maps, static print
maps, map book."""

from bcba.maps import palette
from bcba.maps.basemap import Basemap, build_basemap, find_achtergrond
from bcba.maps.offline import offline_map, save_offline_html, to_offline_html

__all__ = [
    "Basemap",
    "build_basemap",
    "find_achtergrond",
    "offline_map",
    "palette",
    "save_offline_html",
    "to_offline_html",
]
