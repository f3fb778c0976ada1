"""Tests for graphcl.datasets.sdcn._parse: SDCN's graph and label files, errors naming the file."""
import pytest

from graphcl.datasets import sdcn
from graphcl.datasets.sdcn._parse import parse_edges, parse_labels


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

def test_out_of_range_edge_ids_name_the_file():
    spec = sdcn.SDCN_SPECS["usps"]
    with pytest.raises(ValueError, match=r"sdcn/usps/usps3_graph\.txt: node ids must lie in \[0, 9298\)"):
        parse_edges(b"0 1\n9298 5\n", "sdcn/usps/usps3_graph.txt", spec.num_nodes)
    with pytest.raises(ValueError, match=r"usps3_graph\.txt: node ids"):
        parse_edges(b"0 -1\n", "sdcn/usps/usps3_graph.txt", spec.num_nodes)
    with pytest.raises(ValueError, match=r"usps3_graph\.txt: expected one 'i j' pair"):
        parse_edges(b"0 1 2\n3 4 5\n", "sdcn/usps/usps3_graph.txt", spec.num_nodes)
    with pytest.raises(ValueError, match=r"usps3_graph\.txt: expected one 'i j' pair"):
        parse_edges(b"0 1\n2\n", "sdcn/usps/usps3_graph.txt", spec.num_nodes)
    assert parse_edges(b"0 1\n9297 3\n", "f", 9298).tolist() == [[0, 9297], [1, 3]]


def test_bad_label_files_name_the_file():
    spec = sdcn.SDCN_SPECS["acm"]
    good = b"".join(b"%d\n" % (i % 3) for i in range(3025))
    assert parse_labels(good, "sdcn/acm/acm_label.txt", spec).shape == (3025,)
    with pytest.raises(ValueError, match=r"acm_label\.txt: expected 3025 labels, got 3024"):
        parse_labels(good[:-2], "sdcn/acm/acm_label.txt", spec)
    with pytest.raises(ValueError, match=r"acm_label\.txt: labels must lie in \[0, 3\)"):
        parse_labels(good.replace(b"2\n", b"3\n", 1), "sdcn/acm/acm_label.txt", spec)
    hhar = sdcn.SDCN_SPECS["hhar"]  # 1-based on disk: a 0 is out of range
    labels = b"".join(b"%d\n" % (1 + i % 6) for i in range(10299))
    assert parse_labels(labels, "h", hhar).min() == 0
    with pytest.raises(ValueError, match=r"hhar_label\.txt: labels must lie in \[1, 7\)"):
        parse_labels(b"0\n" + labels[2:], "sdcn/hhar/hhar_label.txt", hhar)
