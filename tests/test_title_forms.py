"""Tables are found by what they print, in every form of title the template generations use and in every format:
a year before the title and the number after it in brackets (2020年度收入支出决算总表（表1）), a Chinese number on
its own line (表七), a number before the title (1. 2024年…), a number in brackets after it ((公开01表)), a title
wrapped over two lines, other quotes around 三公."""

from __future__ import annotations

import pytest

from budgetwatch.fixtures.headings import Heading
from budgetwatch.fixtures.render_office import (
    extraction_to_docx,
    extraction_to_html,
    extraction_to_text,
    extraction_to_xlsx,
)
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.read.extract import extract_bytes

FINAL_2020 = {
    f"final.{n:02d}": f"表{k}" for n, k in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (9, 7), (7, 8), (8, 9)]
}
CN = "一二三四五六七八九"

FORMS = {
    # the 2020 generation: year before the title, number after it in brackets, 三公 as 表7, the titles of the time
    "2020": Heading(
        title="{year}年度{title}（{number}）",
        number_line=False,
        numbers=FINAL_2020,
        titles={
            "final.06": "一般公共预算财政拨款基本支出决算表",
            "final.09": "一般公共预算财政拨款“三公”经费支出决算表",
        },
    ),
    "chinese-number-line": Heading(numbers={k: "表" + CN[int(v[1:]) - 1] for k, v in FINAL_2020.items()}),
    "number-before": Heading(
        title="{number}. {year}年{title}", number_line=False, numbers={k: v[1:] for k, v in FINAL_2020.items()}
    ),
    "bracket-after": Heading(
        title="{year}年度{title}(公开{number}表)",
        number_line=False,
        numbers={f"final.{n:02d}": f"{n:02d}" for n in range(1, 10)},
    ),
    "wrapped": Heading(wrap=9),
    "other-quotes": Heading(quotes=("「", "」")),
}
RENDERERS = {
    "text": extraction_to_text,
    "pdf": lambda ex, heading: extraction_to_pdf(ex, heading=heading),
    "docx": extraction_to_docx,
    "xlsx": extraction_to_xlsx,
    "html": lambda ex, heading: extraction_to_html(ex, "utf-8", heading=heading),
}


def _amounts(ex) -> set[tuple]:
    # plain text cannot say that a value is printed once over two columns: it stands in the first of them
    return {
        (i.table_id, i.side, i.code, i.row_key, i.column_key.split("|")[0], i.micros) for i in ex.items if not i.blank
    }


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_table_is_found_whatever_its_title_form(huangpi, form, fmt):
    heading = FORMS[form]
    back = extract_bytes(RENDERERS[fmt](huangpi, heading), f"{form}.bin")
    read = {t.table_id: t for t in back.tables if t.status in ("parsed", "declared_empty")}
    assert sorted(read) == [f"final.{n:02d}" for n in range(1, 10)]
    assert _amounts(back) == _amounts(huangpi)
    if form == "2020":
        assert read["final.09"].printed_number == "表7" and read["final.07"].printed_number == "表8"
    assert back.document.fiscal_year == 2024 and str(back.document.kind) == "final_account"
