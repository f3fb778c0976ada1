"""The experiment layer every method shares: configs, seeding, the method
registry, the multi-seed runner, one results schema and its tables.

A method provides a :class:`Method` (its paper configs, published numbers, CLI
arguments, data loading and one seeded run); everything else — seeds,
progress, resume, merge, atomic results files, tables, plots and the
``graphcl train <method>`` command — comes from here.
"""
from graphcl.experiment.config import ExperimentConfig
from graphcl.experiment.registry import Method, get_method, list_methods, register_method
from graphcl.experiment.results import SCHEMA_VERSION, build_results, merge_results, read_results
from graphcl.io import write_json_atomic
from graphcl.experiment.runner import run_seeds
from graphcl.experiment.seeding import MAX_SEEDS, check_seed, check_seeds, seed_everything
from graphcl.experiment.tables import markdown_table, terminal_table

__all__ = ["ExperimentConfig", "Method", "register_method", "get_method", "list_methods",
           "seed_everything", "check_seed", "check_seeds", "MAX_SEEDS", "run_seeds", "build_results", "merge_results",
           "read_results", "write_json_atomic", "SCHEMA_VERSION", "terminal_table",
           "markdown_table"]
