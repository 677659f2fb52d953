"""A comparable form of printed text: traditional characters, full-width digits and years written in Chinese numerals
mapped one character to one character, so that a position found in the comparable form is a position in the print."""

from __future__ import annotations

import re

# traditional → simplified for the characters of the words metadata and headings are read from (titles, labels, the
# section names of a report, common department names); one character each way, so offsets stay valid
_TRADITIONAL = (
    "預決門單開區級匯彙總況說詞釋職機構設錄編稱採購績經費關運國資產體員責發佈時間縣財務廳辦處會東廣護醫療衛場監農業"
    "環態輸質統計審稅勞動險規劃園館圖書據檔學藥價協聯電視鎮鄉蘇滬漢陽黃陳龍長陝遼寧雲貴灣鐵歷與為對於們這個條項類數"
    "額結轉餘撥補貼償還債權濟門辦廳衛傳媒術鄰聽應擔專層組織黨僑臺貿參議員兒婦殘壽憲災"
)
_SIMPLIFIED = (
    "预决门单开区级汇汇总况说词释职机构设录编称采购绩经费关运国资产体员责发布时间县财务厅办处会东广护医疗卫场监农业"
    "环态输质统计审税劳动险规划园馆图书据档学药价协联电视镇乡苏沪汉阳黄陈龙长陕辽宁云贵湾铁历与为对于们这个条项类数"
    "额结转余拨补贴偿还债权济门办厅卫传媒术邻听应担专层组织党侨台贸参议员儿妇残寿宪灾"
)
_FULL_WIDTH = "０１２３４５６７８９：（）"
_HALF_WIDTH = "0123456789:()"
_TABLE = str.maketrans(_TRADITIONAL + _FULL_WIDTH, _SIMPLIFIED + _HALF_WIDTH)
_CN_DIGITS = str.maketrans("〇○零Ｏ一二三四五六七八九", "000012345678" + "9")
_CN_YEAR = re.compile(r"[二一][〇○零Ｏ一二三四五六七八九]{3}(?=\s*年)")


def comparable(text: str) -> str:
    """The text with traditional characters, full-width digits and Chinese-numeral years (二〇二四年) in their
    common form; same length as the input."""
    text = text.translate(_TABLE)
    return _CN_YEAR.sub(lambda m: m.group(0).translate(_CN_DIGITS), text)
