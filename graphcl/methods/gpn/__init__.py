"""GPN (Liu et al., NeurIPS 2019) and its Prototypical Networks baseline on
graphcl's core: ``graphcl train gpn --model gpn|protonet --shots 1``, or
:class:`~graphcl.methods.gpn.api.HierarchicalFewShot` on a hierarchy of your own.
"""
from graphcl.methods.gpn.config import MODELS, PAPER_EPISODES, GPNConfig, paper_config
from graphcl.methods.gpn.model import GPN, squared_euclidean_logits
from graphcl.methods.gpn.spec import METHOD
from graphcl.methods.gpn.api import HierarchicalFewShot
from graphcl.methods.gpn.train import GPNData, TrainResult, evaluate, prepare, train

__all__ = ["GPN", "GPNConfig", "paper_config", "MODELS", "PAPER_EPISODES",
           "squared_euclidean_logits", "prepare", "train", "evaluate", "GPNData",
           "TrainResult", "METHOD", "HierarchicalFewShot"]
