from graphcl.experiment import markdown_table, run_seeds, terminal_table
from graphcl.experiment.tables import seed_ranges

from toy_method import toy_method  # noqa: F401 (fixture)


def test_seed_ranges():
    assert seed_ranges([13, 4, 5, 6, 12]) == "4-6, 12-13"
    assert seed_ranges([7]) == "7"


def test_tables_show_ours_beside_the_paper(toy_method):
    results = run_seeds("toy", "toy", [0, 1, 2], progress=False)
    acc = results["metrics"]["test"]["acc"]
    ours = f"{100 * acc['mean']:.2f}±{100 * acc['std']:.2f}"
    text = terminal_table(results)
    assert "3 seeds (0-2)" in text and "toy protocol" in text
    line = next(l for l in text.splitlines() if l.startswith("test") and " acc" in l)
    assert ours in line and "50.00±1.00" in line
    md = markdown_table([results]).splitlines()
    assert md[0].startswith("| dataset |")
    assert any(ours in row and "50.00±1.00" in row for row in md)
    assert any(row.startswith("| toy | 3 (0-2) | val | acc |") and row.endswith("| n/a |")
               for row in md)
