"""Real reports of other families: every error they contain that a check can establish is reported as an error, and no
check reports anything else at error level (each false alarm once raised is named below). Where the reading of a
table is a guess (a text layer that dropped its blank cells), its findings are warnings that say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetwatch.check.batch import validate_extractions
from budgetwatch.read.extract import extract_path

DOCUMENTS = Path(__file__).resolve().parent / "documents"
NAMES = sorted(p.stem for p in DOCUMENTS.iterdir() if p.suffix in (".pdf", ".txt"))
# (document, check, text of the finding, why it is an error: the exact arithmetic or the document's own words)
TRUE_ERRORS = [
    ("js-rdbgt-2017-budget", "N-01", "8.75%", "222.5 / (222.5 + 183.6 + 427.5) = 26.69 %"),
    ("js-rdbgt-2017-budget", "N-01", "7.22%", "183.6 / 833.6 = 22.02 %"),
    ("js-rdbgt-2017-budget", "N-01", "16.81%", "427.5 / 833.6 = 51.28 %"),
    ("js-rdbgt-2018-budget", "N-01", "10.61%", "1685.72 / 15897.44 = 10.60 %"),
    ("js-rdbgt-2018-budget", "N-03", "1312.56", "1557.29 / (1685.72 − 1557.29) = 1212.56 %"),
    *[("js-rdbgt-2018-budget", "K-04", f"第{n}行“行政事业单位离退休（类）”", "20805 is a 款") for n in (491, 495, 497)],
    *[("js-rdbgt-2018-budget", "K-04", f"第{n}行“住房改革支出（类）”", "22102 is a 款") for n in (500, 504)],
    *[
        ("js-rdcwh-2019-budget-text", "K-04", f"第{n}行“行政事业单位离退休（类）”", "20805 is a 款")
        for n in (235, 239, 242)
    ],
    *[("js-rdcwh-2019-budget-text", "K-04", f"第{n}行“住房改革支出（类）”", "22102 is a 款") for n in (246, 249)],
    ("js-rdcwh-2019-budget-text", "L-08", "本部门2018年部门汇总预算", "the 2019 budget's own scope said of 2018"),
    ("sh-putuo-czj-2024-final", "N-01", "71.73%", "2106.66 / 2940.05 = 71.65 %"),
    ("sh-putuo-czj-2024-final", "N-06", "0.3万元", "财政拨款收入支出决算总表 总计 2,961.68"),
    ("sh-putuo-wanli-2024-budget", "N-03", "0.53%", "(352.67 − 348.52) / 348.52 = 1.19 %"),
    ("sh-putuo-wanli-2024-budget", "C-06", "本表为空表", "the 三公 table prints 47.91 … under a note calling it empty"),
    ("sh-putuo-shengtai-2025-final", "N-03", "2.60%", "4.68 / (185.41 − 4.68) = 2.59 %"),
    ("sh-putuo-shiquan-2026-unit-budget", "N-03", "5.40%", "(130.95 − 124.27) / 124.27 = 5.38 %"),
    ("sh-putuo-wanli-2025-budget", "C-01", "budget.05", "the file condenses the 一般公共预算支出表 into a note"),
]

# (document, check, text) of error-level findings these checks once raised on correct statements
FALSE_ALARMS = [
    ("js-rdbgt-2017-budget", "N-12", "专门委员会"),  # 办公厅、研究室和 3 个专门委员会: the count is an item
    ("js-rdbgt-2017-budget", "N-12", "所属事业单位"),  # 信息中心、培训中心等 4 个: a list closed by 等
    ("js-rdbgt-2018-budget", "N-01", "22.03%"),  # 183.6 / 833.6 = 22.025 %: rounding of the printed amounts
    ("js-rdbgt-2018-budget", "N-01", "51.28%"),  # a share of “三公”经费 computed against another amount
    ("js-rdbgt-2018-budget", "N-12", "专门委员会"),
    ("js-rdbgt-2018-budget", "L-01", "江苏省人大"),  # the header's name wrapped over two lines
    ("js-rdcwh-2019-budget-text", "N-01", "50.12%"),
    ("js-rdcwh-2019-budget-text", "N-01", "23.92%"),
    ("js-rdcwh-2019-budget-text", "N-03", "10%"),  # 运转类经费压减10%: not the rate of the change beside it
    ("js-rdcwh-2019-budget-text", "N-12", "专门委员会"),
    ("sh-putuo-wanli-2024-budget", "K-04", "城乡社区管理事务"),  # 款 the code list lacked
    ("sh-putuo-wanli-2024-budget", "K-04", "宣传事务"),
    ("sh-putuo-wanli-2024-budget", "L-04", "2024年部门财务收支预算总表"),  # the year read from 2023 执行数 mentions
    ("sh-putuo-wanli-2025-budget", "K-04", "司法"),
    ("sh-putuo-wanli-2025-budget", "L-04", "2025年部门财务收支预算总表"),
    ("sh-putuo-chengguan-2026-budget", "K-04", "城乡社区管理事务"),
    ("sh-putuo-chengguan-2026-budget", "L-04", "2026年部门财政拨款收支预算总表"),
    ("sh-putuo-shengtai-2025-final", "K-04", "环境保护管理事务"),
    ("sh-putuo-shengtai-2025-final", "K-04", "污染防治"),
]


@pytest.fixture(scope="module")
def findings():
    extractions = [extract_path(next(DOCUMENTS.glob(f"{name}.*"))) for name in NAMES]
    return {name: report.findings for name, report in zip(NAMES, validate_extractions(extractions), strict=True)}


def _errors(findings, name: str, check_id: str, text: str):
    return [
        f
        for f in findings[name]
        if f.check_id == check_id and str(f.severity) == "error" and (text in f.message or text == f.actual)
    ]


@pytest.mark.parametrize(("name", "check_id", "text", "why"), TRUE_ERRORS, ids=str)
def test_a_real_error_of_the_text_is_reported_as_an_error(findings, name, check_id, text, why):
    assert _errors(findings, name, check_id, text), why


@pytest.mark.parametrize(("name", "check_id", "text"), FALSE_ALARMS, ids=str)
def test_a_correct_statement_is_not_reported_as_an_error(findings, name, check_id, text):
    assert _errors(findings, name, check_id, text) == []


@pytest.mark.parametrize("name", NAMES)
def test_no_error_of_any_check_beyond_the_real_ones(findings, name):
    expected = [(c, t) for n, c, t, _ in TRUE_ERRORS if n == name]
    for f in findings[name]:
        if str(f.severity) == "error":
            assert any(f.check_id == c and (t in f.message or t == f.actual) for c, t in expected), f.message


def test_a_sum_over_values_placed_by_guess_is_a_warning_that_says_so(findings):
    """The 三公 row prints 5 values under 7 headers with its blanks dropped: which two are blank is a guess."""
    (total,) = [f for f in findings["sh-putuo-shiquan-2026-unit-budget"] if f.check_id == "B07-1"]
    assert str(total.severity) == "warning"
    assert "读表存疑" in total.message and "budget.07" in total.message
