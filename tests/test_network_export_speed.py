"""The Arrow-based GraphML and i2 writers give exactly the bytes of the earlier writers."""

from __future__ import annotations

import csv

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bcba.network._util import isin
from bcba.network.export import _concat_all, _write_i2_csv, write_graphml

#: the bytes the networkx-table writer gave for the graph below (before the Arrow rewrite)
EXPECTED_GRAPHML = """\
<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns \
http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
  <key id="soort" for="edge" attr.name="soort" attr.type="string" />
  <key id="koopsom" for="edge" attr.name="koopsom" attr.type="double" />
  <key id="datum" for="edge" attr.name="datum" attr.type="string" />
  <key id="label" for="node" attr.name="label" attr.type="string" />
  <key id="vastgoed" for="node" attr.name="vastgoed" attr.type="boolean" />
  <key id="x" for="node" attr.name="x" attr.type="double" />
  <key id="huisnummer" for="node" attr.name="huisnummer" attr.type="long" />
  <key id="thema" for="node" attr.name="thema" attr.type="string" />
  <graph edgedefault="directed">
    <node id="K-&quot;1&quot;&amp;">
      <data key="label">Bakker &amp; Zn "&lt;B.V.&gt;"</data>
      <data key="vastgoed">True</data>
      <data key="x">1.5</data>
      <data key="huisnummer">12</data>
      <data key="thema">Zoë</data>
    </node>
    <node id="P-2">
      <data key="label">P-2</data>
    </node>
    <node id="A-3">
    </node>
    <edge source="K-&quot;1&quot;&amp;" target="P-2" id="L1">
      <data key="soort">functionaris_van</data>
      <data key="koopsom">450000.0</data>
      <data key="datum">2024-01-02</data>
    </edge>
    <edge source="P-2" target="A-3" id="L&lt;2&gt;">
      <data key="soort">gevestigd_op</data>
    </edge>
  </graph>
</graphml>
"""


def test_graphml_bytes_unchanged(tmp_path):
    graph = nx.MultiDiGraph()
    graph.add_node(
        'K-"1"&', label='Bakker & Zn "<B.V.>"\x01', vastgoed=True, x=1.5, huisnummer=12, thema="Zoë"
    )
    graph.add_node("P-2", label="P-2", x=np.nan)  # a missing value: no <data> line
    graph.add_node("A-3")
    graph.add_edge(
        'K-"1"&',
        "P-2",
        key="L1",
        soort="functionaris_van",
        koopsom=450000.0,
        datum=pd.Timestamp("2024-01-02"),
    )
    graph.add_edge("P-2", "A-3", key="L<2>", soort="gevestigd_op")
    path = write_graphml(graph, tmp_path / "g.graphml")
    assert path.read_bytes() == EXPECTED_GRAPHML.encode("utf-8")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_i2_csv_bytes_equal_pandas_quote_all(tmp_path):
    frame = pd.DataFrame(
        {
            "Entity ID": ["K-1", 'P-"2"', "A-3", ""],
            "Label": ["Bakker, Zn", "regel\r\nnieuw", "Zoë ć", ""],
            "X": ["1.5", "", "92687.0", "0"],
        },
        dtype="string",
    )
    _write_i2_csv(frame, tmp_path / "a.csv")
    frame.to_csv(
        tmp_path / "b.csv",
        index=False,
        encoding="utf-8-sig",
        quoting=csv.QUOTE_ALL,
        lineterminator="\r\n",
    )
    written = (tmp_path / "a.csv").read_bytes()
    assert written == (tmp_path / "b.csv").read_bytes()
    assert written.startswith(
        b'\xef\xbb\xbf"Entity ID","Label","X"\r\n"K-1","Bakker, Zn","1.5"\r\n'
    )
    assert ((tmp_path / "a.csv").stat().st_mode & 0o777) == 0o600


def test_i2_csv_of_empty_table_is_the_header(tmp_path):
    frame = pd.DataFrame({"Link ID": [], "Score": []}, dtype="string")
    _write_i2_csv(frame, tmp_path / "leeg.csv")
    assert (tmp_path / "leeg.csv").read_bytes() == b'\xef\xbb\xbf"Link ID","Score"\r\n'


def test_isin_missing_values_never_match():
    values = pd.Series(["a", None, "b", "c"], dtype="string")
    assert isin(values, ["a", "c"]).tolist() == [True, False, False, True]
    assert isin(values, pd.Series(["b", None], dtype="string")).tolist() == [
        False,
        False,
        True,
        False,
    ]
    assert isin(values, iter(["b"])).tolist() == [False, False, True, False]


@pytest.mark.parametrize("chunks", [1, 3])
def test_texts_of_a_chunked_column_are_joined_in_order(chunks):
    # pandas can hold an Arrow column in several chunks; the writer joins them all
    texts = pa.chunked_array(
        [
            pa.array(part.tolist(), pa.large_string())
            for part in np.array_split(list("abcdef"), chunks)
        ]
    )
    assert _concat_all(texts)[0].as_py() == "abcdef"
