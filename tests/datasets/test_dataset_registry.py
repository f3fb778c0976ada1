"""Tests for the dataset registry (graphcl.datasets.DATASET_FILES) and the dataset cards
``datasets/<name>.md``: the registry matches the mirror's files and their upstream
URLs, and every card repeats its registry table, sizes and licence.
"""
import re
from pathlib import Path

import pytest

from datasets_support import CARDS
from datasets_support import heco_mirror  # noqa: F401 (fixture)
from datasets_support import planetoid_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import DATASET_FILES, HECO_FILES
from graphcl.datasets import _files
from graphcl.datasets.heco import HECO_COMMIT, HECO_SPECS
from graphcl.datasets.planetoid import PLANETOID_COMMIT
from graphcl.datasets.sdcn import SDCN_COMMIT
from graphcl.datasets.evidence import EVIDENCE_COMMIT

ORIGINAL_URL_PREFIX = f"https://raw.githubusercontent.com/kimiyoung/planetoid/{PLANETOID_COMMIT}/data/"


HECO_URL_PREFIX = f"https://raw.githubusercontent.com/liun-online/HeCo/{HECO_COMMIT}/data/"


SDCN_URL_PREFIX = f"https://raw.githubusercontent.com/bdy9527/SDCN/{SDCN_COMMIT}/"


# The two SDCN feature files that come from other repositories (SOURCES.md of the mirror).
SDCN_OTHER_URLS = {
    "sdcn/usps/usps.h5": "https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
                         "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5",
    "sdcn/acm/ACM3025.mat": "https://raw.githubusercontent.com/googlebaba/WWW2020-O2MAC/"
                            "f663628eddd253c23c5c60f5a098c1ad38e92e6d/data/ACM3025.mat",
}


# The two PneumoniaMNIST files' upstream repositories (SOURCES.md of the mirror).
PNEUMONIAMNIST_URLS = {
    "pneumoniamnist/pneumoniamnist_balanced_aksufatih.npz":
        "https://raw.githubusercontent.com/aksufatih/snn-medmnist/"
        "5df79ab2ac7bf898a8c7bf39830053619defa2f7/pneumoniamnist.npz",
    "pneumoniamnist/pneumoniamnist_kaggle_varun19424.npz":
        "https://raw.githubusercontent.com/varun19424/pneumonia_mnist/"
        "9361a718d67e8a40f1ef8929db8c5682add8bd70/data/pneumoniamnist.npz",
}

# DGP's copied files (the mirror's SOURCES.md); its other files are derived (mirror-only).
_DGP = "https://raw.githubusercontent.com/cyvius96/DGP/b497ebba0f43b21a77059c7fc3eb4e5d599c5679/"
DGP_URLS = {f"dgp/{f}": _DGP + "materials/" + f for f in
            ("imagenet-split.json", "imagenet-testsets.json", "imagenet-xml-wnids.json", "awa2-split.json")}
DGP_URLS["dgp/LICENSE.cyvius96-DGP.txt"] = _DGP + "LICENSE"
DGP_URLS["dgp/LICENSE.JudyYe-zero-shot-gcn.txt"] = ("https://raw.githubusercontent.com/JudyYe/zero-shot-gcn/"
                                                    "0902b15350116cb1292c8e9ec47a0b1db6277f5c/LICENSE")


# What each family's card must say about its licence.
LICENCE_TEXT = {"planetoid": ("MIT", "Zhilin Yang"), "heco": ("no licence stated upstream",),
                "sdcn": ("Apache-2.0",), "wordnet": ("WordNet 3.0 licence", "PDDL-1.0"),
                "evidence": ("MIT", EVIDENCE_COMMIT),
                "pneumoniamnist": ("CC BY 4.0", "no licence file"),
                "dgp": ("MIT", "WordNet 3.0 licence", "PDDL-1.0")}

# Datasets whose files were derived by the mirror's preparation: no upstream URL.
MIRROR_ONLY_FAMILIES = ("wordnet",)
# Families that mix copied files (pinned upstream URLs, in their own table) and derived mirror-only ones.
MIXED_FAMILIES = ("dgp",)

# Evidence Inference (jayded/evidence-inference); the abstracts file is derived
# from upstream annotations/abstracts/ and has no URL of its own.
_EVIDENCE = f"https://raw.githubusercontent.com/jayded/evidence-inference/{EVIDENCE_COMMIT}/"
EVIDENCE_URLS = {
    "evidence/evidence_inference/annotations/prompts_merged.csv":
        _EVIDENCE + "annotations/prompts_merged.csv",
    "evidence/evidence_inference/titles_abstracts_all.jsonl":
        _files.MIRROR_ONLY,
    "evidence/evidence_inference/LICENSE.jayded-evidence-inference.txt": _EVIDENCE + "LICENSE",
}


def _family(name: str) -> str:
    if name in MIRROR_ONLY_FAMILIES + MIXED_FAMILIES or name == "evidence":
        return name
    for family in ("heco", "sdcn", "pneumoniamnist"):
        if name.startswith(family + "_") or name == family:
            return family
    return "planetoid"


def _original_url(name: str, rel: str) -> str:
    """Every registered file's URL is its upstream path at the pinned commit.

    The SDCN tables also list the HeCo / Planetoid files they read, so the
    URL follows the file's folder, not the dataset family.
    """
    if _family(name) in MIRROR_ONLY_FAMILIES:
        return _files.MIRROR_ONLY
    if rel.startswith("evidence/"):
        return EVIDENCE_URLS[rel]
    if name == "dgp":
        return DGP_URLS.get(rel, _files.MIRROR_ONLY)
    if rel.startswith("heco/"):
        return HECO_URL_PREFIX + rel[len("heco/"):]
    if rel.startswith("pneumoniamnist/"):
        return PNEUMONIAMNIST_URLS[rel]
    if rel.startswith("sdcn/"):
        if rel in SDCN_OTHER_URLS:
            return SDCN_OTHER_URLS[rel]
        folder = "graph" if rel.endswith("_graph.txt") else "data"
        return f"{SDCN_URL_PREFIX}{folder}/{Path(rel).name}"
    return ORIGINAL_URL_PREFIX + Path(rel).name


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

def test_registry_matches_the_mirror_files(mirror):
    for name, files in DATASET_FILES.items():
        for rel, (sha256, url) in files.items():
            assert _files.sha256_of_file(mirror / rel) == sha256, rel
            assert url == _original_url(name, rel)


# ---------------------------------------------------------------------------
# Dataset cards
# ---------------------------------------------------------------------------

_CARD_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([\d,]+)\s*\|\s*`([0-9a-f]{64})`\s*\|\s*(\S+)\s*\|\s*$")


def _card_table(card: Path):
    rows = {}
    for line in card.read_text(encoding="utf-8").splitlines():
        match = _CARD_ROW.match(line)
        if match:
            rel, size, sha256, url = match.groups()
            assert rel not in rows, f"{card.name} lists {rel} twice"
            rows[rel] = (int(size.replace(",", "")), sha256, url)
    return rows


@pytest.mark.parametrize("name", sorted(DATASET_FILES))
def test_card_table_equals_registry(name):
    card = CARDS / f"{name}.md"
    assert card.is_file(), f"dataset {name!r} has no card {card}"
    rows = _card_table(card)
    assert {rel: (sha, url) for rel, (_, sha, url) in rows.items()} == dict(DATASET_FILES[name])
    text = card.read_text(encoding="utf-8")
    assert all(phrase in text for phrase in LICENCE_TEXT[_family(name)])


@pytest.mark.parametrize("name", sorted(DATASET_FILES))
def test_card_sizes_match_the_mirror(name, mirror):
    for rel, (size, _, _) in _card_table(CARDS / f"{name}.md").items():
        assert (mirror / rel).stat().st_size == size, rel


@pytest.mark.parametrize("name", sorted(HECO_FILES))
def test_card_lists_every_mirror_file(name, heco_mirror):
    """The registry/card agreement, sizes and hashes are checked for every
    dataset above; here: a HeCo card leaves no file out."""
    rows = _card_table(CARDS / f"{name}.md")
    assert sorted(rows) == sorted(f"heco/{p.parent.name}/{p.name}"
                                  for p in (heco_mirror / "heco" / name[len("heco_"):]).iterdir())


def test_freebase_card_lists_the_layout():
    text = (CARDS / "heco_freebase.md").read_text(encoding="utf-8")
    for file in HECO_SPECS["freebase"].files:
        assert f"`heco/freebase/{file}`" in text, file
    assert "checksums=" in text and "SHA256SUMS" in text and HECO_COMMIT in text
