"""Every finding says what it rests on (identity, narrative, reference, layout), and a list the project keeps never
makes an error by lacking an entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from budgetwatch.check.batch import validate_extractions
from budgetwatch.check.document_checks import document_findings
from budgetwatch.check.rules import BASES, IDENTITY_RELATIONS, NARRATIVE_RELATIONS, _rule, basis_of, rules
from budgetwatch.read import codes
from budgetwatch.read.extract import extract_text


def _document_findings(text: str, check_id: str):
    ex = extract_text(text, source="t.txt", sha256="0" * 64)
    return [f for f in document_findings(ex) if f.check_id == check_id]


def test_every_rule_declares_what_its_findings_rest_on():
    for rule in rules():
        assert rule.basis in BASES, rule.id
        if rule.relation in IDENTITY_RELATIONS:
            assert rule.basis == "identity", rule.id
        if rule.relation in NARRATIVE_RELATIONS:
            assert rule.basis == "narrative", rule.id


def test_a_rule_without_a_basis_is_refused():
    with pytest.raises(ValueError, match="basis"):
        _rule({"id": "Z-1", "relation": "precision", "zh": "z", "en": "z"})
    with pytest.raises(ValueError, match="basis"):
        _rule({"id": "Z-1", "relation": "precision", "basis": "hunch", "zh": "z", "en": "z"})


def test_every_finding_on_the_samples_carries_its_rules_basis(huangpi, hongshan, caidian):
    reports = validate_extractions([huangpi, hongshan, caidian])
    findings = [f for r in reports for f in r.findings]
    assert {f.basis for f in findings} == {"identity", "narrative", "reference", "layout"}
    for f in findings:
        assert f.basis == basis_of(f.check_id), f.check_id
        assert f.to_json()["basis"] == f.basis


def test_codes_seen_only_in_reports_are_kept_as_unconfirmed():
    assert codes.lookup("function", "22102").confirmed  # 住房改革支出, from the code book
    town = codes.lookup("function", "21201")  # 城乡社区管理事务, printed by Shanghai reports
    assert town is not None and town.name == "城乡社区管理事务" and not town.confirmed


def test_a_path_the_code_list_lacks_is_a_warning_that_says_the_list_may_be_partial():
    # 交通运输支出 keeps none of its 款 in the list: the path may well exist
    (finding,) = _document_findings("1. 交通运输支出（类）公路水路运输（款）行政运行（项）120万元。\n", "K-04")
    assert str(finding.severity) == "warning" and "可能为清单不全" in finding.message
    assert finding.basis == "reference"


def test_a_path_the_confirmed_list_places_under_another_class_is_an_error():
    (finding,) = _document_findings("6.卫生健康支出（类）住房改革支出（款）住房公积金(项):反映……\n", "K-04")
    assert str(finding.severity) == "error" and "属于 221" in finding.message


def test_shanghai_paths_under_classes_the_baseline_list_lacked_pass():
    text = (
        "25.“城乡社区支出（类）城乡社区管理事务（款）城管执法（项）”604.34万元。\n"
        "4.“一般公共服务支出（类）宣传事务（款）一般行政管理事务（项）”110.60万元。\n"
        "8.“科学技术支出（类）科学技术普及（款）科普活动（项）”5.00万元。\n"
    )
    assert _document_findings(text, "K-04") == []


def test_a_kuan_written_as_a_class_is_an_error_naming_its_code():
    text = "（二）社会保障和就业（类）\n1．行政事业单位离退休（类）未归口管理的行政单位离退休（项）500.00万元。\n"
    (finding,) = _document_findings(text, "K-04")
    assert str(finding.severity) == "error" and "20805" in finding.message
    assert _document_findings("（三）住房保障支出（类）\n1．住房公积金（项）572.56万元。\n", "K-04") == []


def test_an_unknown_code_in_a_table_is_only_a_warning(huangpi):
    assert codes.lookup("function", "2101588") is None
    items = [replace(i, code="2101588") if i.code == "2101501" else i for i in huangpi.items]
    ex = replace(huangpi, items=items)
    unknown = [f for f in document_findings(ex) if f.check_id == "K-01"]
    assert unknown and all(str(f.severity) == "warning" for f in unknown)
