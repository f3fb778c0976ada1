"""Clinical evidence recommendation on Evidence Inference (Lehman et al. 2019; DeYoung et al. 2020).

* :mod:`~graphcl.datasets.evidence.specs`: the pinned, sha256-verified files.
* :mod:`~graphcl.datasets.evidence.loader`: :func:`load_evidence`, the
  outcome-problem -> trial task (479 problems, 1,163 articles, 1,845 links).
* :mod:`~graphcl.datasets.evidence.graphs`: the Evidence Co-reference Graph and
  the TextGCN-style Evidence Text Graph as PyG ``HeteroData``, and the text
  features both share.
"""
from graphcl.datasets.evidence.graphs import (TextFeatures, build_coreference_graph,
                                              build_text_graph, fit_text_features,
                                              text_graph_query_edges)
from graphcl.datasets.evidence.loader import (EvidenceTask, Prompt, build_task, load_evidence,
                                              normalize, parse_abstracts, parse_prompts)
from graphcl.datasets.evidence.specs import EVIDENCE_COMMIT, EVIDENCE_FILES

__all__ = ["EVIDENCE_COMMIT", "EVIDENCE_FILES", "EvidenceTask", "Prompt", "load_evidence",
           "build_task", "normalize", "parse_prompts", "parse_abstracts", "TextFeatures",
           "fit_text_features", "build_coreference_graph", "build_text_graph",
           "text_graph_query_edges"]
