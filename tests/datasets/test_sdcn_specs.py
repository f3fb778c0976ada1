"""Tests for graphcl.datasets.sdcn.specs: the SDCN registry tables against the mirror."""
from datasets_support import sdcn_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import DATASET_FILES, HECO_FILES, SDCN_FILES, SDCN_NAMES
from graphcl.datasets import _files

# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

def test_registry_names_and_layout():
    assert sorted(SDCN_FILES) == ["sdcn_acm", "sdcn_cite", "sdcn_dblp", "sdcn_hhar", "sdcn_reut",
                                  "sdcn_usps"]
    assert all(DATASET_FILES[name] == table for name, table in SDCN_FILES.items())
    assert set(SDCN_NAMES) == {"usps", "hhar", "reut", "acm", "cite", "dblp", "cora", "citeseer"}
    for name in ("usps", "hhar", "reut"):
        assert {f"sdcn/{name}/{name}{k}_graph.txt" for k in (1, 3, 5, 10)} <= set(SDCN_FILES[f"sdcn_{name}"])
    # The HeCo and Planetoid files that dblp and cite read are the registered ones.
    for rel in ("heco/dblp/a_feat.npz", "heco/dblp/labels.npy", "heco/dblp/apa.npz"):
        assert SDCN_FILES["sdcn_dblp"][rel] == HECO_FILES["heco_dblp"][rel]
    assert {rel for rel in SDCN_FILES["sdcn_cite"] if rel.startswith("planetoid/")} == \
        set(DATASET_FILES["citeseer"])


def test_registry_matches_the_mirror(mirror):
    for table in SDCN_FILES.values():
        for rel, (sha256, _) in table.items():
            assert _files.sha256_of_file(mirror / rel) == sha256, rel
