"""HeCo (Wang, Liu, Shi, KDD 2021) on graphcl's core.

Multi-seed runs, resume, merge and results files come from the experiment
layer: ``graphcl.experiment.run_seeds("heco", "acm", range(10))`` or
``graphcl train heco --dataset acm --seeds 10``.
"""
from graphcl.methods.heco.config import PAPER_CONFIGS, PAPER_RESULTS, HeCoConfig, paper_config
from graphcl.methods.heco.model import HeCo
from graphcl.methods.heco.spec import METHOD
from graphcl.methods.heco.train import evaluate, prepare_inputs, train

__all__ = ["HeCo", "HeCoConfig", "PAPER_CONFIGS", "PAPER_RESULTS", "paper_config",
           "prepare_inputs", "train", "evaluate", "METHOD"]
