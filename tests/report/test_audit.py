"""Audit of the published tables against hand-worked identities of the paper's tables."""

from __future__ import annotations

from rest.report.audit import audit_apibank_row, audit_multi_turn_row, audit_paper, level_count
from rest.report.tables import paper_results


def test_level_count_recovers_integer_counts():
    assert level_count(73.68, 399) == 294  # 294/399 = 73.684
    assert level_count(64.18, 67) == 43
    assert level_count(55.73, 131) == 73
    assert level_count(52.24, 67) == 35
    assert level_count(52.22, 67) is None  # no count of 67 prints as 52.22


def test_apibank_micro_average_of_qwen3_4b_rest():
    row = {"Level 1 Acc": 73.68, "Level 2 Acc": 64.18, "Level 3 Acc": 55.73, "Overall Acc": 68.68}
    (finding,) = audit_apibank_row("apibank_qwen3", "Qwen3-4B-2507", "ResT", row)
    assert finding.ok
    assert finding.note == "294+43+73 = 410 of 597"
    assert abs(finding.recomputed - 100 * 410 / 597) < 1e-9


def test_apibank_departure_is_flagged():
    row = {"Level 1 Acc": 73.68, "Level 2 Acc": 64.18, "Level 3 Acc": 55.73, "Overall Acc": 69.00}
    (finding,) = audit_apibank_row("t", "m", "x", row)
    assert not finding.ok


def test_multi_turn_overall_is_mean_of_four():
    ok = audit_multi_turn_row("t", "m", "x", {"Base": 12.0, "Miss Func": 5.5, "Miss Param": 9.5,
                                               "Long Context": 7.5, "Overall Acc": 8.62})
    assert ok.ok and abs(ok.recomputed - 8.625) < 1e-12
    bad = audit_multi_turn_row("t", "m", "x", {"Base": 12.0, "Miss Func": 5.5, "Miss Param": 9.5,
                                                "Long Context": 7.5, "Overall Acc": 8.70})
    assert not bad.ok


def test_published_tables_depart_in_exactly_the_two_known_rows():
    findings = audit_paper(paper_results())
    departing = {(f.table, f.model, f.method) for f in findings if not f.ok}
    assert departing == {("apibank_qwen3", "Qwen3-1.7B", "GRPO"), ("apibank_qwen3", "Qwen3-8B", "SFT+GRPO")}
    grpo = next(f for f in findings if not f.ok and f.method == "GRPO")
    assert grpo.printed == 63.65 and round(grpo.recomputed, 2) == 63.15
    assert grpo.note.startswith("282+41+54 = 377")
    l2 = next(f for f in findings if not f.ok and f.check.startswith("Level 2"))
    assert l2.printed == 52.22 and round(l2.recomputed, 2) == 52.24
    sft_grpo = next(f for f in findings if not f.ok and f.method == "SFT+GRPO" and f.check.startswith("Overall"))
    assert round(sft_grpo.recomputed, 2) == 63.48
    # every API-Bank and multi-turn row was checked
    checked = {(f.table, f.model, f.method) for f in findings if not f.check.startswith("claim")}
    assert len(checked) == 28 + 12 + 7 + 36


def test_headline_claims_recomputed():
    claims = [f for f in audit_paper(paper_results()) if f.check.startswith("claim")]
    assert [round(c.recomputed, 2) for c in claims] == [8.76, 1.50]
    assert all(c.ok for c in claims)
    assert claims[0].model == "Qwen3-4B-2507"


def test_audit_flags_a_changed_claim():
    paper = paper_results()
    sel = ((paper.table == "bfcl_multi_turn_qwen3") & (paper.model == "Qwen3-4B-2507")
           & (paper.method == "GRPO") & (paper.metric == "Overall Acc"))
    paper.loc[sel, "value_percent"] = 40.0
    claims = [f for f in audit_paper(paper) if f.check.startswith("claim")]
    assert not claims[0].ok and round(claims[0].recomputed, 2) == 10.38
