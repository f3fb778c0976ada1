"""HeCo (Wang, Liu, Shi, KDD 2021) on graphcl's core."""
from graphcl.methods.heco.config import PAPER_CONFIGS, HeCoConfig, paper_config
from graphcl.methods.heco.model import HeCo
from graphcl.methods.heco.run import merge_results, results_table, run_heco, write_results
from graphcl.methods.heco.train import evaluate, prepare_inputs, train

__all__ = ["HeCo", "HeCoConfig", "PAPER_CONFIGS", "paper_config", "prepare_inputs", "train",
           "evaluate", "run_heco", "merge_results", "results_table", "write_results"]
