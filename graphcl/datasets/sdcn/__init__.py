"""The SDCN / SCGC clustering datasets (usps, hhar, reut, acm, cite, dblp) as PyG ``Data``.

SDCN (bdy9527/SDCN, pinned to one commit) ships kNN graphs for USPS, HHAR and
Reuters (``<name><k>_graph.txt``, k in {1, 3, 5, 10}), the ACM, CiteSeer and
DBLP graphs (``<name>_graph.txt``) and the label files, but not all feature
matrices. The features come from elsewhere:

- usps: ``train/data`` and ``test/data`` of ``usps.h5`` (niuers/Learning-From-Data-A-Short-Course),
  stacked; SDCN's own graph script reads that file, and :func:`graphcl.knn.knn_graph`
  reproduces ``usps{1,3,5,10}_graph.txt`` exactly from it.
- acm: ``feature`` of ``ACM3025.mat`` (googlebaba/WWW2020-O2MAC); ``argmax(label)``
  equals ``acm_label.txt`` and ``PAP`` without its diagonal equals ``acm_graph.txt``.
- cite: the Planetoid CiteSeer features in Kipf/PyG node order (:func:`load_planetoid`);
  ``cite_label.txt - 1`` equals its labels.
- dblp: SDCN's feature order is not available, so the HeCo DBLP author graph is
  used (``a_feat.npz``, ``labels.npy``, APA without its diagonal): the same
  dataset up to a node permutation (same label histogram and edge count).
- hhar, reut: no features are available; pass them with ``features=``.

Every file is sha256-verified before it is parsed (see :mod:`graphcl.datasets._files`).

Modules: :mod:`~graphcl.datasets.sdcn.specs` (registry tables and
:class:`SDCNSpec`), :mod:`~graphcl.datasets.sdcn.loader` (:func:`load_sdcn`),
and the private ``_parse`` (graph/label files and ``features=`` checks).
"""
from graphcl.datasets.sdcn.loader import MissingFeaturesError, load_sdcn
from graphcl.datasets.sdcn.specs import (ACM3025_URL, KNN_KS, SDCN_COMMIT, SDCN_FILES, SDCN_NAMES,
                                         SDCN_SPECS, USPS_H5_URL, SDCNSpec)

__all__ = ["SDCN_COMMIT", "SDCN_FILES", "SDCN_NAMES", "SDCN_SPECS", "SDCNSpec", "KNN_KS",
           "USPS_H5_URL", "ACM3025_URL", "MissingFeaturesError", "load_sdcn"]
