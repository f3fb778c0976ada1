"""The registry of methods: what ``graphcl train <method>`` and ``graphcl
list`` are generated from.

Each method registers one :class:`Method` from its ``graphcl/methods/<name>/
spec.py``; :func:`get_method` and :func:`list_methods` import those modules on
first use, so the registry costs nothing until it is asked.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from graphcl.experiment.config import ExperimentConfig

#: Modules that register a method when imported (one per method package).
METHOD_MODULES = ("graphcl.methods.heco.spec", "graphcl.methods.scgc.spec",
                  "graphcl.methods.evidence.spec", "graphcl.methods.lvmmed.spec",
                  "graphcl.methods.gpn.spec", "graphcl.methods.dgp.spec")

_REGISTRY: Dict[str, "Method"] = {}
_ORIGIN: Dict[str, str] = {}


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Method:
    """One method as the experiment layer sees it.

    Args:
        name (str): CLI and results name (``"heco"``).
        title (str): display name (``"HeCo"``).
        paper (str): citation of the paper.
        url (str): link to the paper.
        datasets (tuple of str): dataset names ``make_config`` accepts.
        protocol (str or callable): the evaluation protocol in words, stored in
            every results file (a callable gets the config).
        make_config (callable): ``(dataset, args) -> ExperimentConfig``, the
            paper config of ``dataset`` with the CLI options in ``args`` (an
            ``argparse.Namespace`` or ``None``) applied.
        config_type (type): the config class (for reading results back).
        load_data (callable): ``(config, options) -> data``, called once per run
            with the data options (``root`` and method-specific ones).
        run_seed (callable): ``(data, config, seed, progress) -> dict`` with
            ``metrics`` as ``{group: {metric: float}}`` (fractions), optional
            ``timings`` (seconds), ``history`` (per-epoch lists) and any other
            JSON values to keep per seed.
        add_arguments (callable, optional): adds the method's own CLI options.
        check_arguments (callable, optional): ``args -> None``; raises
            ``ValueError("argument --flag: ...")`` for a bad option value
            (called before any work, after argparse's own checks).
        data_options (callable, optional): ``args -> dict`` of data options
            from the CLI (default: none besides ``root``).
        data_files (callable, optional): ``dataset -> [relative paths]`` under
            the data root, for ``graphcl list``.
        paper_results (mapping, optional): published numbers in %, as
            ``{dataset: {group: {metric: (mean, std or None)}}}``.
        first_seed (callable, optional): the default first seed of a config
            (the paper's seed; ``0`` by default).
        table (callable, optional): a method-specific terminal table of a
            results dictionary (default: :func:`graphcl.experiment.terminal_table`).
        reuse_freed_memory (bool, optional): ``graphcl train`` makes malloc keep
            freed memory for the run (:func:`graphcl.experiment.memory.reuse_freed_memory`):
            faster epochs when each allocates large tensors afresh, at a higher
            peak memory. Opt-in for methods that measured a gain (default: ``False``).
    """
    name: str
    title: str
    paper: str
    url: str
    datasets: Tuple[str, ...]
    protocol: Any
    make_config: Callable[[str, Optional[argparse.Namespace]], ExperimentConfig]
    config_type: type
    load_data: Callable[[ExperimentConfig, Dict[str, Any]], Any]
    run_seed: Callable[[Any, ExperimentConfig, int, bool], Dict[str, Any]]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    check_arguments: Callable[[argparse.Namespace], None] = lambda args: None
    data_options: Callable[[argparse.Namespace], Dict[str, Any]] = lambda args: {}
    data_files: Callable[[str], Sequence[str]] = lambda dataset: ()
    paper_results: Mapping[str, Mapping[str, Mapping[str, Tuple[float, Optional[float]]]]] = \
        field(default_factory=dict)
    first_seed: Callable[[ExperimentConfig], int] = lambda config: 0
    table: Optional[Callable[[Dict[str, Any]], str]] = None
    reuse_freed_memory: bool = False

    def protocol_text(self, config: ExperimentConfig) -> str:
        return self.protocol(config) if callable(self.protocol) else str(self.protocol)


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry (a second registration of the same name
    replaces the first, so reloading a module is harmless)."""
    if not isinstance(method, Method):
        raise TypeError(f"register_method needs a Method, got {type(method).__name__}")
    _REGISTRY[method.name] = method
    # The module that registered it fixes its place in list_methods().
    _ORIGIN[method.name] = sys._getframe(1).f_globals.get("__name__", "")
    return method


def _load_all() -> None:
    for module in METHOD_MODULES:
        importlib.import_module(module)


def list_methods() -> List[Method]:
    """Every registered method: those of METHOD_MODULES in that order, then any
    other in registration order. The order does not depend on which spec
    module some caller happened to import first (the README's methods table
    is generated from it)."""
    _load_all()
    order = {module: k for k, module in enumerate(METHOD_MODULES)}
    position = {name: k for k, name in enumerate(_REGISTRY)}
    names = sorted(_REGISTRY, key=lambda n: (order.get(_ORIGIN.get(n), len(order)), position[n]))
    return [_REGISTRY[n] for n in names]


def get_method(name: str) -> Method:
    """The method registered as ``name``; ``KeyError`` lists the known ones."""
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"no method {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]
