"""The outcome-problem -> trial recommendation task on Evidence Inference.

The task (``../shared/reference/lvmmed_evidence.md`` §2.4, reproduced exactly):

- strings are normalised by :func:`normalize` (lower case, every character
  outside ``[\\w\\s]`` replaced by a space, whitespace collapsed);
- problems = normalised Outcome strings that occur in >= 2 distinct articles
  (479), evidence items = the articles with at least one such outcome (1,163),
  links = (problem, article) pairs (1,845);
- split: problems in sorted order; each problem's articles in the order they
  first appear in ``prompts_merged.csv``; one ``numpy.random.default_rng(split_seed)``
  shuffles each list in turn; a problem with >= 3 links gives its first article
  to test, one with >= 4 the next to validation, the rest go to train
  (split seed 0: 1,533 / 119 / 193 links).

Articles are indexed in numeric PMCID order, so "ties broken by PMCID order"
is "ties broken by article index".
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from graphcl.datasets._files import read_verified_bytes
from graphcl.datasets.evidence.specs import ABSTRACTS_FILE, EVIDENCE_FILES, PROMPTS_FILE

PROMPT_COLUMNS = ("PromptID", "PMCID", "Outcome", "Intervention", "Comparator")
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, punctuation to spaces, whitespace collapsed and stripped."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


@dataclass(frozen=True)
class Prompt:
    """One (Intervention, Comparator, Outcome) prompt, strings normalised."""
    prompt_id: int
    pmcid: str
    outcome: str
    intervention: str
    comparator: str


@dataclass
class EvidenceTask:
    """The recommendation task: problems, articles, their texts and the split.

    Attributes:
        problems (list of str): the normalised problem (outcome) strings, sorted.
        articles (list of str): PMCIDs (no "PMC" prefix) in numeric order.
        titles, abstracts (list of str): per article ('' where the abstracts
            file has none); an abstract joins its sections' texts.
        interventions, comparators (list of list of str): per article, its
            prompts' distinct normalised strings, sorted (the leakage rule
            allows them; outcomes are withheld: see :attr:`train`).
        train, val, test (LongTensor ``[2, E]``): links as (problem index,
            article index), sorted.
        split_seed (int): the seed of the split.
    """
    problems: List[str]
    articles: List[str]
    titles: List[str]
    abstracts: List[str]
    interventions: List[List[str]]
    comparators: List[List[str]]
    train: Tensor
    val: Tensor
    test: Tensor
    split_seed: int
    counts: Dict[str, int] = field(default_factory=dict)

    @property
    def num_problems(self) -> int:
        return len(self.problems)

    @property
    def num_articles(self) -> int:
        return len(self.articles)

    def article_texts(self) -> List[str]:
        """Title and abstract of every article, one string each."""
        return [f"{t} {a}".strip() for t, a in zip(self.titles, self.abstracts)]

    def split(self, name: str) -> Tensor:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)

    def __repr__(self) -> str:
        return (f"EvidenceTask(problems={self.num_problems}, articles={self.num_articles}, "
                f"train={self.train.size(1)}, val={self.val.size(1)}, test={self.test.size(1)}, "
                f"split_seed={self.split_seed})")


def _text_of(relative_path: str, root) -> str:
    sha256, url = EVIDENCE_FILES["evidence"][relative_path]
    payload = read_verified_bytes(relative_path, sha256, url, root)
    return payload.decode("utf-8-sig")


def parse_prompts(text: str, source: str = PROMPTS_FILE) -> List[Prompt]:
    """The rows of ``prompts_merged.csv``; a malformed row raises a
    ``ValueError`` naming ``source`` and its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != PROMPT_COLUMNS:
        raise ValueError(f"{source}, line 1: expected the header {','.join(PROMPT_COLUMNS)}, "
                         f"got {header!r}")
    prompts = []
    for row in reader:
        line = reader.line_num
        if len(row) != len(PROMPT_COLUMNS):
            raise ValueError(f"{source}, line {line}: expected {len(PROMPT_COLUMNS)} fields "
                             f"({','.join(PROMPT_COLUMNS)}), got {len(row)}: {row!r}")
        prompt_id, pmcid, outcome, intervention, comparator = row
        if not prompt_id.strip().isdigit():
            raise ValueError(f"{source}, line {line}: PromptID must be a non-negative integer, "
                             f"got {prompt_id!r}")
        if not pmcid.strip().isdigit():
            raise ValueError(f"{source}, line {line}: PMCID must be digits (no 'PMC' prefix), "
                             f"got {pmcid!r}")
        if not outcome.strip():
            raise ValueError(f"{source}, line {line}: the Outcome field is empty")
        prompts.append(Prompt(int(prompt_id), str(int(pmcid)), normalize(outcome),
                              normalize(intervention), normalize(comparator)))
    if not prompts:
        raise ValueError(f"{source}: no prompt rows after the header")
    return prompts


def parse_abstracts(text: str, source: str = ABSTRACTS_FILE) -> Dict[str, Tuple[str, str]]:
    """``{pmcid: (title, abstract)}`` from the JSON Lines file; a malformed
    record raises a ``ValueError`` naming ``source`` and its line."""
    records = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}, line {line_no}: not valid JSON ({exc.msg})") from None
        try:
            pmcid, title = str(record["pmcid"]), record["title"]
            sections = [s["text"] for s in record["abstract"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{source}, line {line_no}: expected an object with 'pmcid', "
                             f"'title' and 'abstract' [{{'section', 'text'}}] ({exc!r})") from None
        if not pmcid.isdigit() or not isinstance(title, str) or \
                not all(isinstance(s, str) for s in sections):
            raise ValueError(f"{source}, line {line_no}: pmcid must be digits and title/section "
                             f"texts strings, got pmcid {pmcid!r}")
        records[pmcid] = (" ".join(title.split()), " ".join(sections))
    return records


def _articles_by_problem(prompts: Sequence[Prompt]) -> Dict[str, List[str]]:
    """Each outcome's distinct articles in order of first appearance."""
    seen = defaultdict(dict)  # dicts keep insertion order
    for p in prompts:
        if p.outcome:
            seen[p.outcome][p.pmcid] = None
    return {outcome: list(arts) for outcome, arts in seen.items()}


def split_links(articles_by_problem: Dict[str, List[str]], split_seed: int
                ) -> Dict[str, List[Tuple[str, str]]]:
    """The per-problem split of §2.4 as ``{split: [(problem, pmcid)]}``."""
    rng = np.random.default_rng(split_seed)
    out = {"train": [], "val": [], "test": []}
    for problem in sorted(articles_by_problem):
        arts = list(articles_by_problem[problem])
        rng.shuffle(arts)
        if len(arts) >= 3:
            out["test"].append((problem, arts.pop(0)))
        if len(arts) >= 3:  # the problem had >= 4 links
            out["val"].append((problem, arts.pop(0)))
        out["train"].extend((problem, a) for a in arts)
    return out


def build_task(prompts: Sequence[Prompt], abstracts: Dict[str, Tuple[str, str]],
               split_seed: int = 0, min_articles: int = 2) -> EvidenceTask:
    """The task from parsed prompts and abstracts (see the module docstring)."""
    if isinstance(split_seed, bool) or not isinstance(split_seed, (int, np.integer)) \
            or not 0 <= split_seed < 2 ** 32:
        raise ValueError(f"split_seed must be an int in [0, 2**32 - 1], got {split_seed!r}")
    by_outcome = _articles_by_problem(prompts)
    by_problem = {o: a for o, a in by_outcome.items() if len(a) >= min_articles}
    problems = sorted(by_problem)
    articles = sorted({a for arts in by_problem.values() for a in arts}, key=int)
    problem_index = {p: i for i, p in enumerate(problems)}
    article_index = {a: i for i, a in enumerate(articles)}
    interventions, comparators = defaultdict(set), defaultdict(set)
    for p in prompts:
        if p.pmcid in article_index:
            if p.intervention:
                interventions[p.pmcid].add(p.intervention)
            if p.comparator:
                comparators[p.pmcid].add(p.comparator)

    def as_tensor(links):
        pairs = sorted((problem_index[p], article_index[a]) for p, a in links)
        return torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).t().contiguous()

    splits = split_links(by_problem, int(split_seed))
    texts = [abstracts.get(a, ("", "")) for a in articles]
    return EvidenceTask(
        problems=problems, articles=articles, titles=[t for t, _ in texts],
        abstracts=[b for _, b in texts],
        interventions=[sorted(interventions[a]) for a in articles],
        comparators=[sorted(comparators[a]) for a in articles],
        train=as_tensor(splits["train"]), val=as_tensor(splits["val"]),
        test=as_tensor(splits["test"]), split_seed=int(split_seed),
        counts={"prompts": len(prompts), "articles_without_text": sum(a not in abstracts
                                                                      for a in articles)})


def load_evidence(root=None, split_seed: int = 0) -> EvidenceTask:
    """The §2.4 task from the sha256-verified Evidence Inference files.

    Args:
        root (str or Path, optional): data root (default ``$GRAPHCL_DATA``).
        split_seed (int): seed of the per-problem link split (default 0, the
            reference's: 1,533 / 119 / 193 links).
    """
    prompts = parse_prompts(_text_of(PROMPTS_FILE, root))
    abstracts = parse_abstracts(_text_of(ABSTRACTS_FILE, root))
    return build_task(prompts, abstracts, split_seed=split_seed)
