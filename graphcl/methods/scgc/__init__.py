"""SCGC and SCGC* (Kulatilleke, Portmann, Chandra 2022) on graphcl's core.

Multi-seed runs come from the experiment layer:
``graphcl.experiment.run_seeds("scgc_star", "usps", range(10))`` or
``graphcl train scgc_star --dataset usps --seeds 10``.
"""
from graphcl.methods.scgc.autoencoder import SDCNAutoencoder, pretrain_autoencoder
from graphcl.methods.scgc.config import (PAPER_CONFIGS, PUBLISHED_SCGC_STAR_USPS, SDCN_RESULTS,
                                         SCGCConfig, paper_config)
from graphcl.methods.scgc.model import SCGC, structure_target
from graphcl.methods.scgc.spec import load_scgc_dataset, results_table
from graphcl.methods.scgc.train import SCGCRun, train_scgc

__all__ = ["SCGC", "SCGCConfig", "SCGCRun", "SDCNAutoencoder", "PAPER_CONFIGS", "SDCN_RESULTS",
           "PUBLISHED_SCGC_STAR_USPS", "paper_config", "pretrain_autoencoder",
           "structure_target", "train_scgc", "load_scgc_dataset", "results_table"]
