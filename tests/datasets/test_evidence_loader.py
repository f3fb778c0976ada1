"""The evidence task of lvmmed_evidence.md §2.4: its counts, determinism and bad input."""
import numpy as np
import pytest
import torch

from evidence_support import needs_evidence, real_task
from graphcl.datasets.evidence import (build_task, normalize, parse_abstracts, parse_prompts)
from graphcl.datasets.evidence.loader import split_links

HEADER = "PromptID,PMCID,Outcome,Intervention,Comparator\n"


def test_normalize():
    assert normalize("  Systolic B.P. (mm-Hg)\t at 6 months ") == "systolic b p mm hg at 6 months"
    assert normalize("HbA1c≥7%") == "hba1c 7"
    with pytest.raises(TypeError, match="text must be a str"):
        normalize(None)


def test_corrupt_csv_rows_name_the_file_and_line():
    good = HEADER + "1,100,Pain,Drug A,Placebo\n"
    assert parse_prompts(good, "p.csv")[0].outcome == "pain"
    with pytest.raises(ValueError, match=r"p\.csv, line 3: expected 5 fields"):
        parse_prompts(good + "2,101,Pain,Drug B\n", "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv, line 2: PMCID must be digits"):
        parse_prompts(HEADER + "1,PMC100,Pain,A,B\n", "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv, line 2: PromptID"):
        parse_prompts(HEADER + "x,100,Pain,A,B\n", "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv, line 2: the Outcome field is empty"):
        parse_prompts(HEADER + "1,100, ,A,B\n", "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv, line 1: expected the header"):
        parse_prompts("a,b,c\n", "p.csv")
    # a quoted field with a newline: the error names the line the row ends on
    with pytest.raises(ValueError, match=r"line 4: expected 5 fields"):
        parse_prompts(good + '2,101,"Pain\nscore",A\n', "p.csv")


def test_corrupt_abstract_lines_name_the_file_and_line():
    ok = '{"pmcid": "7", "title": "T  x", "abstract": [{"section": "A", "text": "b"}]}\n'
    assert parse_abstracts(ok, "a.jsonl") == {"7": ("T x", "b")}
    with pytest.raises(ValueError, match=r"a\.jsonl, line 2: not valid JSON"):
        parse_abstracts(ok + "{oops\n", "a.jsonl")
    with pytest.raises(ValueError, match=r"a\.jsonl, line 1: expected an object"):
        parse_abstracts('{"pmcid": "7"}\n', "a.jsonl")


def test_split_rule_on_a_hand_example():
    by_problem = {"b": ["1", "2", "3", "4", "5"], "a": ["9", "8"], "c": ["6", "7", "1"]}
    out = split_links(by_problem, 0)
    rng = np.random.default_rng(0)  # the same draws, problems in sorted order
    expected = {"train": [], "val": [], "test": []}
    for p in ("a", "b", "c"):
        arts = list(by_problem[p])
        rng.shuffle(arts)
        if len(arts) >= 3:
            expected["test"].append((p, arts.pop(0)))
        if len(arts) >= 3:
            expected["val"].append((p, arts.pop(0)))
        expected["train"] += [(p, x) for x in arts]
    assert out == expected
    assert [len(out[s]) for s in ("train", "val", "test")] == [7, 1, 2]


def test_task_from_parsed_rows_keeps_only_shared_outcomes():
    prompts = parse_prompts(HEADER + "1,20,Pain!,A,Placebo\n2,3,pain,B,placebo\n"
                                     "3,3,Nausea,B,placebo\n4,20,pain,C,D\n")
    task = build_task(prompts, {"3": ("t3", "x"), "20": ("t20", "y")})
    assert task.problems == ["pain"] and task.articles == ["3", "20"]  # numeric order
    assert task.interventions == [["b"], ["a", "c"]]
    assert task.train.tolist() == [[0, 0], [0, 1]] and task.test.numel() == 0
    with pytest.raises(ValueError, match="split_seed"):
        build_task(prompts, {}, split_seed=-1)


@needs_evidence
def test_real_task_counts_match_the_reference():
    task = real_task()
    assert (task.num_problems, task.num_articles) == (479, 1163)
    assert [task.split(s).size(1) for s in ("train", "val", "test")] == [1533, 119, 193]
    links = torch.cat([task.train, task.val, task.test], 1)
    assert links.size(1) == 1845 == torch.unique(links, dim=1).size(1)
    degree = torch.bincount(links[0], minlength=479)
    top = [task.problems[i] for i in torch.argsort(-degree, stable=True)[:3].tolist()]
    assert top == ["adverse events", "baseline characteristics", "systolic blood pressure"]
    assert degree.max() == 56 and int(degree.median()) == 2
    assert task.articles == sorted(task.articles, key=int)
    assert task.counts["prompts"] == 12865


@needs_evidence
def test_split_seed_changes_the_split_not_the_counts():
    a, b = real_task(0), real_task(1)
    assert a.problems == b.problems and a.articles == b.articles
    assert [a.split(s).size(1) for s in ("train", "val", "test")] == \
        [b.split(s).size(1) for s in ("train", "val", "test")]
    assert not torch.equal(a.test, b.test)
    with pytest.raises(ValueError, match="split must be"):
        a.split("dev")
