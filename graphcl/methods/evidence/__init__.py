"""Clinical evidence recommendation with a multi-channel heterogeneous GNN
(Luo & Zhang, arXiv 2304.01242; graphcl's design, the paper publishes no code).

``config`` (EvidenceConfig, the models), ``model`` (channel encoders, fusion,
MF, LightGCN), ``retrieval`` (popularity, TF-IDF, BM25), ``train`` (inputs,
BPR training, §2.4 evaluation), ``recommend`` (free-text problems),
``spec`` (``graphcl train evidence``).
"""
from graphcl.methods.evidence.config import MODELS, EvidenceConfig
from graphcl.methods.evidence.recommend import Recommendation, Recommender, recommend

__all__ = ["EvidenceConfig", "MODELS", "Recommender", "Recommendation", "recommend"]
