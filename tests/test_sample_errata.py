"""The hand-checked errata of the bundled samples (budgetwatch/data/samples/README.md): what must be found, and no
error-level finding beyond them."""

from __future__ import annotations

import pytest

from budgetwatch.check.batch import validate_extractions

# (sample fixture, errata id, check id, severity, category, text the finding's actual value or message must contain)
EXPECTED = [
    ("huangpi", "HP-01", "X-F01-03c", "warning", "rounding", "182.72"),
    ("huangpi", "HP-01", "X-F04-05c", "warning", "rounding", "182.72"),
    ("huangpi", "HP-02", "F02-2", "warning", "rounding", "2031.51"),
    ("huangpi", "HP-02", "F03-2", "warning", "rounding", "total_expenditure 为 2031.52"),
    ("huangpi", "HP-03", "F03-1", "warning", "rounding", "1700.02"),
    ("huangpi", "HP-04", "F03-1", "warning", "rounding", "1615.39"),
    ("huangpi", "HP-05", "F03-1", "warning", "rounding", "21.74"),
    ("huangpi", "HP-06", "F03-2", "warning", "rounding", "1573.79"),
    ("huangpi", "HP-07", "F03-2", "warning", "rounding", "457.73"),
    ("huangpi", "HP-08", "N-01", "error", "narrative", "83.70%"),
    ("huangpi", "HP-09", "N-01", "error", "narrative", "6.95%"),
    ("huangpi", "HP-10", "N-11", "error", "narrative", "第496行为5.24 万元，第638行为5.21 万元"),
    ("huangpi", "HP-11", "N-08", "error", "narrative", "第616行为5 个，第632行为8 个二级项目"),
    ("huangpi", "HP-12", "N-08", "error", "narrative", "第659行为6.7 万人次，第956行为11.35 万人次"),
    ("huangpi", "HP-13", "N-14", "error", "narrative", "693 人 + 4290 人 = 4983人"),
    ("huangpi", "HP-14", "N-10", "error", "narrative", "固定资产全部在使用"),
    ("huangpi", "HP-18", "T-02", "warning", "label", "指市级财政"),
    ("huangpi", "HP-18", "T-02", "warning", "label", "是指市直部门"),
    ("huangpi", "HP-18", "T-01", "warning", "template", "请依据部门收入的实际情况进行解释"),
    ("huangpi", "HP-19", "N-12", "error", "narrative", "称3个一级指标，列出4个"),
    ("huangpi", "HP-20", "N-02", "warning", "narrative", "除数为零"),
    ("hongshan", "HS-01", "L-02", "error", "label", "本年政府性基金预算支出"),
    (
        "hongshan",
        "HS-03",
        "K-05",
        "warning",
        "classification",
        "列出但表中未使用 2080506、2101506、2101599；表中使用但未列出 2010501、2080501",
    ),
    ("hongshan", "HS-09", "L-06", "warning", "label", "打击欺诈骗取医保"),
    ("hongshan", "HS-09", "C-05", "warning", "completeness", "表12-2 无“项目资金来源”栏目"),
    ("hongshan", "HS-09", "L-07", "warning", "label", "“对两定医药机构抽查完成率”在长期绩效目标表为质量指标"),
    ("hongshan", "HS-05", "T-02", "warning", "label", "指市级财政"),
    ("hongshan", "HS-06", "N-09", "warning", "narrative", "绩效工资（30107）、职业年金缴费（30109）、医疗费（30114）"),
    (
        "hongshan",
        "HS-06",
        "N-09",
        "warning",
        "narrative",
        "咨询费（30203）、手续费（30204）、水费（30205）、电费（30206）",
    ),
    ("hongshan", "HS-07", "B11-1", "warning", "rounding", "718.745"),
    ("hongshan", "HS-07", "L-03", "warning", "label", "98.615"),
    ("caidian", "CD-00", "C-01", "error", "completeness", "images"),
    ("caidian", "CD-01", "N-13", "error", "narrative", "+ 22万元 + 0万元 + 25万元 + 40万元 = 8086.76"),
    ("caidian", "CD-02", "N-04", "error", "narrative", "225.88万元 + 7709.67万元 + 129.21万元 = 8064.76"),
    ("caidian", "CD-03", "N-04", "warning", "rounding", "8064.77"),
    ("caidian", "CD-04", "N-04", "warning", "rounding", "225.89"),
    ("caidian", "CD-05", "N-07", "warning", "rounding", "7709.67万元 ≠"),
    ("caidian", "CD-05", "N-07", "error", "narrative", "7644.67万元 ≠"),
    ("caidian", "CD-06", "N-04", "warning", "rounding", "1387.05"),
    ("caidian", "CD-07", "N-13", "error", "narrative", "1394.76万元 + 108.33万元 + 6605.00万元 = 8108.09"),
    ("caidian", "CD-08", "N-04", "warning", "rounding", "7140.06"),
    ("caidian", "CD-09", "N-13", "error", "narrative", "1286.43万元 + 0.06万元 + 0万元 = 1286.49"),
    ("caidian", "CD-09", "N-13", "warning", "rounding", "931.39万元 + 108.27万元 + 6605.00万元 = 7644.66"),
    ("caidian", "CD-10", "N-04", "error", "narrative", "1189.16"),
    ("caidian", "CD-11", "N-04", "warning", "rounding", "108.34"),
    ("caidian", "CD-12", "N-04", "error", "narrative", "6457"),
    ("caidian", "CD-13", "N-04", "error", "narrative", "= 74"),
    ("caidian", "CD-13", "N-04", "error", "narrative", "称涉及2个项目，列出3个"),
    ("caidian", "CD-14", "N-03", "warning", "narrative_truncated", "50.43%"),
    ("caidian", "CD-17", "N-10", "error", "narrative", "公务用车1辆"),
    ("caidian", "CD-18", "K-04", "error", "classification", "“住房改革支出（款）”不属于“卫生健康支出（类）”"),
    ("caidian", "CD-15", "N-15", "error", "narrative", "401.62万元"),
    ("caidian", "CD-16", "T-03", "warning", "label", "7999.76元"),
    ("caidian", "CD-16", "T-03", "warning", "label", "3.72元"),
    ("caidian", "CD-16", "T-03", "warning", "label", "万元万元"),
    ("caidian", "CD-19", "T-04", "warning", "template", "1、 二、 三、 4、 5、 六、 七、 八、 九、 10、"),
    ("caidian", "CD-19", "T-04", "warning", "template", "（1） （2） （3） （4） （五） （六）"),
]


@pytest.fixture(scope="module")
def findings(huangpi, hongshan, caidian):
    reports = validate_extractions([huangpi, hongshan, caidian])
    return dict(zip(("huangpi", "hongshan", "caidian"), (r.findings for r in reports), strict=True))


@pytest.mark.parametrize(("sample", "item", "check_id", "severity", "category", "text"), EXPECTED, ids=str)
def test_errata_item_is_found(findings, sample, item, check_id, severity, category, text):
    matches = [
        f
        for f in findings[sample]
        if f.check_id == check_id
        and str(f.severity) == severity
        and f.category == category
        and (text in f.message or text == f.actual)
    ]
    assert matches, f"{item} not found"


@pytest.mark.parametrize("sample", ["huangpi", "hongshan", "caidian"])
def test_no_error_level_finding_outside_the_errata(findings, sample):
    expected = [(c, t) for s, _, c, sev, _, t in EXPECTED if s == sample and sev == "error"]
    for f in findings[sample]:
        if str(f.severity) == "error":
            assert any(f.check_id == c and (t in f.message or t == f.actual) for c, t in expected), f.message
