"""The DGP zero-shot files: registry table, paths and pinned upstream commits.

The split files are copied byte for byte from DGP's repository
(:data:`DGP_COMMIT`); the induced graph, its GloVe-50d inputs and the GCNZ graph
were derived by the data mirror's preparation (``datasets/dgp.md`` says how),
so their URL is :data:`~graphcl.datasets._files.MIRROR_ONLY`.
"""
from __future__ import annotations

from typing import Dict

from graphcl.datasets._files import MIRROR_ONLY, FileTable

DGP_COMMIT = "b497ebba0f43b21a77059c7fc3eb4e5d599c5679"        # cyvius96/DGP
GCNZ_COMMIT = "0902b15350116cb1292c8e9ec47a0b1db6277f5c"       # JudyYe/zero-shot-gcn
_DGP_URL = f"https://raw.githubusercontent.com/cyvius96/DGP/{DGP_COMMIT}/"
_GCNZ_URL = f"https://raw.githubusercontent.com/JudyYe/zero-shot-gcn/{GCNZ_COMMIT}/"

SPLIT = "dgp/imagenet-split.json"
TESTSETS = "dgp/imagenet-testsets.json"
XML_WNIDS = "dgp/imagenet-xml-wnids.json"
AWA2_SPLIT = "dgp/awa2-split.json"
INDUCED_GRAPH = "dgp/imagenet_induced_graph.json"
INDUCED_GLOVE = "dgp/imagenet_induced_graph_glove6b50d.npy"
GCNZ_GRAPH = "dgp/gcnz_imagenet_graph.json"

#: ``{"dgp": {relative path: (sha256, url)}}``; the card ``datasets/dgp.md`` repeats it.
DGP_FILES: Dict[str, FileTable] = {"dgp": {
    SPLIT: ("5ef05994c73485529b7e6a556915c642e1bd3252e419e43df4ccbd8a27c0f454",
            _DGP_URL + "materials/imagenet-split.json"),
    TESTSETS: ("3014729204d93f21ff8503a723585ae16131b2825df71e1633fa804f7cab433c",
               _DGP_URL + "materials/imagenet-testsets.json"),
    XML_WNIDS: ("ba7c775ff5ad1ac616b7feff3790e8406ce6d06478f467fec118d3f0fafb5230",
                _DGP_URL + "materials/imagenet-xml-wnids.json"),
    AWA2_SPLIT: ("4b0a8710bf4e640f0aee8ad8bd7a1564c79bba3ac99098ac7b9f664aae824f26",
                 _DGP_URL + "materials/awa2-split.json"),
    "dgp/LICENSE.cyvius96-DGP.txt": (
        "b7849c2492b923c94db4beab7502867764418b1f73382a594f5713d48fca9d36", _DGP_URL + "LICENSE"),
    "dgp/LICENSE.JudyYe-zero-shot-gcn.txt": (
        "9d063c2a7f1d493acaa22b1844ebced589edfa359d09b867e37db34b32cff100", _GCNZ_URL + "LICENSE"),
    INDUCED_GRAPH: ("8c28e98b3eef7dc8259c9219ccef5dc4a1fd4208247c8236fcd0fcbc985cfd78", MIRROR_ONLY),
    INDUCED_GLOVE: ("0aa820bee6066532f1402fe2c41b1d318d2cf8fcde0d069523e3d27192e97351", MIRROR_ONLY),
    GCNZ_GRAPH: ("42dd03021b76612564b36abfd4de8598e05f75b23e1601ae8545482fea6b7d94", MIRROR_ONLY),
}}
