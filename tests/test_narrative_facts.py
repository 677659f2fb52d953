"""Numbers in the explanatory text become facts with a kind, a subject, a sentence and a position."""

from __future__ import annotations

from budgetwatch.read.narrative import facts, sentences


def _facts(text: str):
    return facts(enumerate(text.splitlines(), start=1))


def test_kinds_of_numbers_are_told_apart():
    found = _facts(
        "2024 年度收、支总计均为 2031.52 万元。与 2023 年度相比，收、支总计减少 4959.23 万元，下降 70.9%。\n"
        "1. 卫生健康支出类支出 1700.01 万元，占 83.70%。\n"
        "年初预算为459.2万元，支出决算为425.51万元，完成年初预算的92.7%。\n"
        "共涉及项目 5 个，资金 142.51 万元。"
    )
    got = [(f.kind, f.raw, f.subject) for f in found]
    assert got == [
        ("total", "2031.52 万元", "收、支总计"),
        ("decrease", "4959.23 万元", "收、支总计减少"),
        ("decrease_rate", "70.9%", "下降"),
        ("amount", "1700.01 万元", "卫生健康支出类支出"),
        ("share", "83.70%", "占"),
        ("budget", "459.2万元", "年初预算"),
        ("final", "425.51万元", "支出决算"),
        ("completion_rate", "92.7%", "完成年初预算的"),
        ("count", "5 个", "共涉及项目"),
        ("amount", "142.51 万元", "资金"),
    ]


def test_values_are_exact_with_their_printed_precision():
    (fact,) = [f for f in _facts("占 6.95%。") if f.kind == "share"]
    assert fact.micros == 6_950_000 and fact.decimals == 2 and fact.unit == "%"


def test_dates_and_years_are_not_facts():
    assert _facts("2025 年 10 月 15 日，截至2023年12月31日。") == []


def test_wrapped_lines_are_joined_into_one_sentence():
    said = sentences(
        enumerate(
            [
                "2024 年部门收支总预算",
                "991.65 万元，比 2023 年预算增加 93.44 万元，增长 10.40%，",
                "主要原因是：医疗救助。",
            ],
            1,
        )
    )
    assert len(said) == 1
    assert said[0].text.startswith("2024 年部门收支总预算991.65 万元")
    kinds = [
        f.kind
        for f in facts(
            enumerate(["2024 年部门收支总预算", "991.65 万元，比 2023 年预算增加 93.44 万元，增长 10.40%。"], 1)
        )
    ]
    assert kinds == ["total", "increase", "increase_rate"]


def test_headings_start_new_sentences_and_name_the_section():
    said = sentences(
        enumerate(
            [
                "三、支出决算情况说明",
                "支出合计 2031.52 万元。",
                "四、财政拨款收入支出决算总体情况说明",
                "总计 1 万元。",
            ],
            1,
        )
    )
    assert [(s.section, s.line) for s in said if "万元" in s.text] == [
        ("三、支出决算情况说明", 2),
        ("四、财政拨款收入支出决算总体情况说明", 4),
    ]


def test_sample_narratives_yield_their_facts(huangpi, hongshan, caidian):
    shares = [f.raw for f in huangpi.facts if f.kind == "share" and f.subject == "占"]
    assert shares[:4] == ["8.99%", "83.70%", "0.38%", "6.95%"]
    assert any(f.kind == "increase_rate" and f.raw == "10.40%" for f in hongshan.facts)
    assert any(f.raw == "6547万元" for f in caidian.facts)
