"""The SDCN / SCGC clustering datasets' files and facts: registry tables and :class:`SDCNSpec`.

SDCN's own files (bdy9527/SDCN) are pinned to :data:`SDCN_COMMIT`; the features
that SDCN does not ship come from other pinned repositories (:data:`USPS_H5_URL`,
:data:`ACM3025_URL`) or from the Planetoid and HeCo registries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from graphcl.datasets._files import FileTable
from graphcl.datasets.heco import HECO_FILES, HECO_SPECS
from graphcl.datasets.planetoid import PLANETOID_FILES

SDCN_COMMIT = "da6bb007b7d07362ac04db3e146b4944e2acb883"
_SDCN_URL = f"https://raw.githubusercontent.com/bdy9527/SDCN/{SDCN_COMMIT}/{{}}/{{}}"
USPS_H5_URL = ("https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
               "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5")
ACM3025_URL = ("https://raw.githubusercontent.com/googlebaba/WWW2020-O2MAC/"
               "f663628eddd253c23c5c60f5a098c1ad38e92e6d/data/ACM3025.mat")

KNN_KS = (1, 3, 5, 10)


def _sdcn_entry(name: str, file: str, sha256: str) -> Tuple[str, Tuple[str, str]]:
    folder = "graph" if file.endswith("_graph.txt") else "data"
    return f"sdcn/{name}/{file}", (sha256, _SDCN_URL.format(folder, file))


def _sdcn_table(name: str, sha256_by_file: Dict[str, str]) -> Dict[str, Tuple[str, str]]:
    return dict(_sdcn_entry(name, f, sha) for f, sha in sha256_by_file.items())


_HECO_DBLP = HECO_SPECS["dblp"]
#: The HeCo DBLP files that ``load_sdcn("dblp")`` reads (SDCN's own features are not available).
DBLP_HECO_FILES = ("a_feat.npz", "labels.npy", "apa.npz")

#: ``{dataset name: {relative path: (sha256, url)}}`` for the SDCN datasets; the
#: cards ``datasets/<name>.md`` repeat these tables and a test keeps them equal.
#: ``sdcn_cite`` and ``sdcn_dblp`` include the Planetoid / HeCo files they read
#: (taken from those registries, not repeated here).
SDCN_FILES: Dict[str, FileTable] = {
    "sdcn_usps": {
        "sdcn/usps/usps.h5": ("734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36", USPS_H5_URL),
        **_sdcn_table("usps", {
            "usps1_graph.txt": "0330292f32d8fbaa104b4d494447684d9ba4715e7caf631e441f9695c37653bd",
            "usps3_graph.txt": "4bd79c7777ac7ce884794713feea3bd61e67d2581a8df218019182132ff77bb0",
            "usps5_graph.txt": "0c62cd6c8f8579d9a98f56281fefd724c0b4ac68b099f8c0aa006236151ef13c",
            "usps10_graph.txt": "db0b1f038f838c1cec153ba48127951a1465f3bf40c7a7a2033ffdc6ca581053",
            "usps_label.txt": "40e1e201b590cff58953314463591499f72831426073a77483fee648b9c98e91",
        }),
    },
    "sdcn_hhar": _sdcn_table("hhar", {
        "hhar1_graph.txt": "8c513af72ad633a4c6b4ed73c068640a628455d881cde4dfc46a52d410cb45ea",
        "hhar3_graph.txt": "045014715d7d1686813e5126ac3c2ac2ae40b105e8146cae1da2386d83d4d064",
        "hhar5_graph.txt": "6f511313e8b7adc9c363bad86b0bb4929cda5632c0bc0fdbcbc2c07fad85f44b",
        "hhar10_graph.txt": "0180cac69e014807c584c8b890c02263ce8b0a4ead7d4349ef682f4afc001f48",
        "hhar_label.txt": "5a88e22e6aa7fc975dedf551eb32cf394f3181ebaa921567f85e6b09b8a8df67",
    }),
    "sdcn_reut": _sdcn_table("reut", {
        "reut1_graph.txt": "6dcaef98d940617ef0107d24e89f79562d4775eb021d570a2b8a424dd3752762",
        "reut3_graph.txt": "26838b1aa912991f33d044556dfba880eff5ba52eeafec5944fead2f9ffb33f6",
        "reut5_graph.txt": "05b674c2af0760fb5899a21e155cd06f5ad5c439e88b4b1e181a1a770e0fa2a2",
        "reut10_graph.txt": "9a3620080fc9f5e68bfa0d9900677f83411561bf9a454304d8c52884cb4437da",
        "reut_label.txt": "389bb6aecf89a54552336b3b6fe41477fd16ce06848761d173f8b691a6a92874",
    }),
    "sdcn_acm": {
        "sdcn/acm/ACM3025.mat": ("b10e486a49892307a56a3d9ad48128a948d2bf2da19db9e6e7f79c6622529fdc", ACM3025_URL),
        **_sdcn_table("acm", {
            "acm_graph.txt": "54529a64f7b2cd373b3cee450afec900bcf34de3dfb87fe436552efe48b15c87",
            "acm_label.txt": "a1637c25de4e946d027f131cc02a2f8cae268ac8488fc12fa22e9b275603ead3",
        }),
    },
    "sdcn_cite": {
        **_sdcn_table("cite", {
            "cite_graph.txt": "29da9311f1b3060f564263ca6f15e98af459b45f13bee0a6979beb4c41ba6494",
            "cite_label.txt": "877820efe71f99632dffc43a74503ec84e26ad08c1f6df8bc7ae0ed7554c6cd5",
        }),
        **PLANETOID_FILES["citeseer"],
    },
    "sdcn_dblp": {
        **_sdcn_table("dblp", {
            "dblp_graph.txt": "cadb495a8810b48866ee9a2c92b2b10a7137406476c94eb4ebee642f268df984",
            "dblp_label.txt": "31c369e801d7c6891b2d7b31d4c1f2718d69aca498d23a8c48945061fcdc0da6",
        }),
        **{_HECO_DBLP.relative_path(f): HECO_FILES["heco_dblp"][_HECO_DBLP.relative_path(f)]
           for f in DBLP_HECO_FILES},
    },
}


@dataclass(frozen=True)
class SDCNSpec:
    """Facts of one dataset (SDCN Table 1 and the shipped files)."""

    name: str
    num_nodes: int
    num_classes: int
    num_features: int
    label_offset: int = 0          # hhar and cite labels are 1-based
    default_k: Optional[int] = None  # kNN datasets only
    knn_method: Optional[str] = None
    features_source: str = ""


SDCN_SPECS: Dict[str, SDCNSpec] = {
    "usps": SDCNSpec("usps", 9298, 10, 256, default_k=3, knn_method="heat"),
    "hhar": SDCNSpec("hhar", 10299, 6, 561, label_offset=1, default_k=5, knn_method="heat",
                     features_source=("the UCI HAR dataset (Human Activity Recognition Using "
                                      "Smartphones): the 561 features of X_train (7,352 rows) "
                                      "followed by X_test (2,947 rows), 10299x561")),
    "reut": SDCNSpec("reut", 10000, 4, 2000, default_k=3, knn_method="ncos",
                     features_source=("DEC's reutersidf10k (Xie et al. 2016; made by DEC's "
                                      "make_reuters_data): 10,000 documents x 2,000 tf-idf features, "
                                      "10000x2000")),
    "acm": SDCNSpec("acm", 3025, 3, 1870),
    "cite": SDCNSpec("cite", 3327, 6, 3703, label_offset=1),
    "dblp": SDCNSpec("dblp", 4057, 4, 334),
    "cora": SDCNSpec("cora", 2708, 7, 1433),
    "citeseer": SDCNSpec("citeseer", 3327, 6, 3703),
}

#: Names accepted by :func:`load_sdcn`.
SDCN_NAMES = tuple(SDCN_SPECS)


__all__ = ["SDCN_COMMIT", "USPS_H5_URL", "ACM3025_URL", "KNN_KS", "SDCN_FILES", "SDCNSpec",
           "SDCN_SPECS", "SDCN_NAMES", "DBLP_HECO_FILES"]
