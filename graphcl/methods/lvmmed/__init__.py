"""LVM-Med (Nguyen et al., NeurIPS 2023): self-supervised image encoders by
second-order graph matching, with SimCLR, VICReg, first-order and random
baselines, on PneumoniaMNIST.

``graphcl train lvmmed --dataset pneumoniamnist --model lvmmed --seeds 3`` or
``graphcl.experiment.run_seeds("lvmmed", "pneumoniamnist", range(3))``; the
encoder of every seed is saved next to the results and
:func:`load_encoder` reads it back.
"""
from graphcl.methods.lvmmed.config import ENCODERS, MODEL_TITLES, MODELS, LVMMedConfig
from graphcl.methods.lvmmed.model import ImageEncoder, SelfSupervisedModel
from graphcl.methods.lvmmed.train import (PROTOCOL, LVMMedRun, load_encoder, pretrain, probe,
                                          save_encoder, train_lvmmed)

__all__ = ["LVMMedConfig", "MODELS", "ENCODERS", "MODEL_TITLES", "ImageEncoder",
           "SelfSupervisedModel", "LVMMedRun", "train_lvmmed", "pretrain", "probe",
           "save_encoder", "load_encoder", "PROTOCOL"]
