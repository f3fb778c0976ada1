"""DGP (Kampffmeyer et al., CVPR 2019; the code's older name ADGPM) with DGPM,
SGCN, GCNZ and the identity / ridge reference rows, on graphcl's core.

``graphcl train dgp --model dgp --seeds 5 --out results.json`` or, for any
class graph, :func:`propagate_class_vectors`.
"""
from graphcl.methods.dgp.api import propagate_class_vectors
from graphcl.methods.dgp.config import GRAPH_MODELS, MODELS, REFERENCE_MODELS, DGPConfig, paper_config
from graphcl.methods.dgp.model import DGP, GCNRegressor
from graphcl.methods.dgp.train import (EVAL_GROUPS, ZeroShotRun, ZeroShotTask, build_model,
                                       dgp_loss, evaluate_predictions, reference_predictions,
                                       ridge_fit_predict, task_from_protocol, train_zero_shot)

__all__ = ["DGP", "GCNRegressor", "DGPConfig", "paper_config", "MODELS", "GRAPH_MODELS",
           "REFERENCE_MODELS", "EVAL_GROUPS", "ZeroShotTask", "ZeroShotRun", "build_model",
           "dgp_loss", "train_zero_shot", "reference_predictions", "ridge_fit_predict",
           "evaluate_predictions", "task_from_protocol", "propagate_class_vectors"]
