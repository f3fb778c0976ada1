"""DGP's ImageNet zero-shot graph, inputs and class splits (sha256-verified).

:func:`load_dgp` returns the induced WordNet graph of DGP (32,324 nouns, 32,544
child → parent edges, the 1,000 train classes first), its GloVe 6B-50d inputs
and DGP's test sets; :func:`load_gcnz_graph` the undirected graph GCNZ
(Wang et al. 2018) propagates over.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from graphcl.datasets._files import read_verified_bytes
from graphcl.datasets._readers import load_npy
from graphcl.datasets.dgp.files import (AWA2_SPLIT, DGP_FILES, GCNZ_GRAPH, INDUCED_GLOVE,
                                        INDUCED_GRAPH, SPLIT, TESTSETS)

Root = Union[str, os.PathLike, None]

#: DGP's test sets: our name -> the key in ``imagenet-testsets.json``.
TEST_SETS = {"2-hops": "2-hops", "3-hops": "3-hops", "all": "all", "awa2": "awa2-test"}


def _read(relative_path: str, root: Root) -> bytes:
    sha256, url = DGP_FILES["dgp"][relative_path]
    return read_verified_bytes(relative_path, sha256, url, root)


def _read_json(relative_path: str, root: Root):
    try:
        return json.loads(_read(relative_path, root))
    except ValueError as exc:
        raise ValueError(f"{relative_path}: not valid JSON ({exc})") from exc


def node_indices(index: Dict[str, int], wnids: Sequence[str], argument: str = "wnids") -> Tensor:
    """Graph rows of ``wnids``; ``ValueError`` names ``argument`` and the first unknown wnid."""
    if isinstance(wnids, str):
        raise TypeError(f"{argument} must be a sequence of wnids, not a single string")
    unknown = [w for w in wnids if w not in index]
    if unknown:
        raise ValueError(f"{argument}: {len(unknown)} wnid(s) are not nodes of the graph, "
                         f"e.g. {unknown[0]!r}")
    return torch.tensor([index[w] for w in wnids], dtype=torch.long)


@dataclass(frozen=True)
class DGPData:
    """DGP's induced ImageNet graph with its inputs and class splits.

    Attributes:
        wnids: The 32,324 nodes: the 1,000 train wnids (sorted), the 20,842
            test wnids, their induced WordNet ancestors, the remaining xml wnids.
        edges: ``[32544, 2]`` int64 ``(child, parent)`` node indices (``@`` hypernyms).
        x: ``[32324, 50]`` float32 GloVe-50d inputs by DGP's word rule, not normalised
            (3,636 zero rows).
        train: Node indices of the 1,000 train classes (``0..999``).
        test_sets: ``{"2-hops", "3-hops", "all", "awa2": node indices}``.
        index: ``{wnid: node index}``.
    """
    wnids: List[str]
    edges: Tensor = field(repr=False)
    x: Tensor = field(repr=False)
    train: Tensor = field(repr=False)
    test_sets: Dict[str, Tensor] = field(repr=False)
    index: Dict[str, int] = field(repr=False)

    @property
    def num_nodes(self) -> int:
        return len(self.wnids)

    def nodes(self, wnids: Sequence[str], argument: str = "wnids") -> Tensor:
        """Node indices of ``wnids`` (``ValueError`` names an unknown one)."""
        return node_indices(self.index, wnids, argument)


def load_dgp(root: Root = None) -> DGPData:
    """Read DGP's graph, GloVe-50d inputs and splits (every file sha256-verified).

    Args:
        root: Data root override (default ``$GRAPHCL_DATA`` or ``~/.cache/graphcl``).

    Returns:
        The :class:`DGPData`.

    Raises:
        ValueError: A file does not have the documented layout, or the train
            classes are not the first 1,000 nodes in ``imagenet-split.json``'s order.
    """
    graph = _read_json(INDUCED_GRAPH, root)
    try:
        wnids, edges = list(graph["wnids"]), np.asarray(graph["edges"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{INDUCED_GRAPH}: expected {{'wnids', 'edges'}} ({exc!r})") from exc
    if edges.ndim != 2 or edges.shape[1] != 2 or (edges.size and not
                                                   (0 <= edges.min() and edges.max() < len(wnids))):
        raise ValueError(f"{INDUCED_GRAPH}: 'edges' must be [E, 2] node indices, got {edges.shape}")
    x = load_npy(_read(INDUCED_GLOVE, root))
    if x.shape != (len(wnids), 50) or x.dtype != np.float32:
        raise ValueError(f"{INDUCED_GLOVE}: expected float32 ({len(wnids)}, 50), got "
                         f"{x.dtype} {x.shape}")
    index = {w: i for i, w in enumerate(wnids)}
    train_wnids = _read_json(SPLIT, root)["train"]
    if wnids[:len(train_wnids)] != train_wnids:
        raise ValueError(f"{INDUCED_GRAPH}: the train classes of {SPLIT} are not its first nodes")
    testsets = _read_json(TESTSETS, root)
    test_sets = {name: node_indices(index, testsets[key], f"{TESTSETS}[{key!r}]")
                 for name, key in TEST_SETS.items()}
    awa2 = _read_json(AWA2_SPLIT, root)["test"]
    if sorted(awa2) != sorted(testsets["awa2-test"]):
        raise ValueError(f"{AWA2_SPLIT}: its test wnids differ from {TESTSETS}['awa2-test']")
    return DGPData(wnids=wnids, edges=torch.from_numpy(edges), x=torch.from_numpy(x.copy()),
                   train=torch.arange(len(train_wnids)), test_sets=test_sets, index=index)


def load_gcnz_graph(root: Root = None) -> Tuple[List[str], Tensor]:
    """GCNZ's undirected ImageNet graph (JudyYe/zero-shot-gcn).

    Returns:
        ``(wnids, edge_index)``: the 32,297 node names (the xml wnids plus the
        pseudo-nodes ``fall11`` and ``fa11misc``) and a ``[2, 2 * 34872]``
        int64 ``edge_index`` holding each undirected edge in both directions.
    """
    graph = _read_json(GCNZ_GRAPH, root)
    try:
        wnids = list(graph["wnids"])
        pairs = torch.tensor(graph["edges_undirected"], dtype=torch.long).reshape(-1, 2)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{GCNZ_GRAPH}: expected {{'wnids', 'edges_undirected'}} ({exc!r})") from exc
    if pairs.numel() and not (0 <= int(pairs.min()) and int(pairs.max()) < len(wnids)):
        raise ValueError(f"{GCNZ_GRAPH}: an edge names a node outside 'wnids'")
    return wnids, torch.cat([pairs.t(), pairs.flip(1).t()], dim=1)
