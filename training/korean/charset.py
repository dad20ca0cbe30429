"""The recogniser's character list, shared by training, export and the engine.

Class 0 is the CTC blank and the space is the last class, as in PP-OCR's recognisers: the ONNX
metadata key `character` then lists the other characters one a line, and the engine's
`Recognizer` can read our model the way it reads PP-OCRv6.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

CHARSET_FILE = Path(__file__).with_name("charset.txt")


def ksx1001_syllables() -> list[str]:
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR rows 0xB0-0xC8): what Korean text uses."""
    return [
        bytes([hi, lo]).decode("euc-kr") for hi in range(0xB0, 0xC9) for lo in range(0xA1, 0xFF)
    ]


ASCII = [chr(c) for c in range(0x21, 0x7F)]  # printable ASCII without the space
JAMO = [chr(c) for c in range(0x3131, 0x3164)]  # compatibility jamo ㄱ..ㅣ, used in lists and forms

# Symbols Korean documents use: bullets, brackets, units, circled numbers, currency.
SYMBOLS = list(
    "·×÷±°′″§¶※○●◎□■△▲▽▼◇◆☆★▶▷◀◁→←↑↓↔⇒∼…‥「」『』〈〉《》【】〔〕“”‘’"
    "₩€£¥¢℃℉%‰㎜㎝㎞㎡㎥㎏㎎㎖㎗㎘ℓ㏊㈜№™®©"
    "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽"
    "㉠㉡㉢㉣㉤㉥㉦㉧㉨㉩㉪㉫㉬㉭㉮㉯㉰㉱㉲㉳㉴㉵㉶㉷㉸㉹㉺㉻"
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅰⅱⅲⅳⅴⅵⅶⅷⅸⅹ◦•√∞∴∵≤≥≠≒∝"
)

# Common Hanja of Korean official documents, dates, company names, surnames and numbers.
HANJA = list(
    "一二三四五六七八九十百千萬億兆零半元圓年月日時分秒週曜火水木金土"
    "上下中內外前後左右東西南北大小長短高低多少新舊古今正副本支"
    "人民國家政府法律令規則條項號第章節款目案件例式條約憲議會院長官"
    "大韓民國朝鮮日本中國美英佛獨市道郡區邑面洞里路街番地號室層"
    "株式會社有限合資名團體協組合社團財協同公私立營業商工農林"
    "代表理事監査部課係長員職任免選擧投票權利義務責任自由平等"
    "安全保障生活福祉敎育文化藝術科學技術環境經濟産業金融稅收入出"
    "支給付與料金額價格費用計算合計總額貸借賣買契約書類證明申請許可"
    "登錄記錄事由內容目的方法期間限度以上以下未滿超過及又並或等外"
    "金李朴崔鄭姜趙尹張林韓吳申徐權黃安宋柳洪全高文孫梁裵白許南沈盧河丁成車兪具禹朱任羅辛閔"
    "休職用者人願命意思務公事由敎育學校病院銀行郵便電話住所姓名性別男女"
    "生年月日本籍現住所印署名捺印甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    "春夏秋冬天地山川江海心手口目耳足父母兄弟姉妹夫婦子女孫家族親族"
    "見聞言語讀書作品物件品質量數字度率比重單位個名次回"
)

# Look-alikes folded to one form before training and before scoring: the middle dots, the
# full-width brackets and tildes the corpora use, and dash variants.
FOLD = str.maketrans(
    {
        "ㆍ": "·",
        "‧": "·",
        "∙": "·",
        "・": "·",
        "･": "·",
        "⋅": "·",
        "․": "·",
        "｢": "「",
        "｣": "」",
        "～": "~",
        "〜": "~",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "´": "'",
        "\u00a0": " ",
        "\u3000": " ",
        "\t": " ",
    }
)
# Full-width ASCII (Ａ, １, （) folds to ASCII.
FOLD.update({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if c not in (0xFF5E, 0xFF65)})

SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """One form for look-alike characters and runs of whitespace (training targets and scoring)."""
    return SPACES.sub(" ", text.translate(FOLD)).strip()


def build() -> list[str]:
    """Every character the model can output, without blank and space, in a fixed order."""
    chars: list[str] = []
    seen: set[str] = set()
    for c in [*ksx1001_syllables(), *ASCII, *JAMO, *SYMBOLS, *HANJA]:
        if c not in seen and c != " " and fold(c) == c:
            seen.add(c)
            chars.append(c)
    return chars


def write(path: Path = CHARSET_FILE) -> None:
    path.write_text("\n".join(build()) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def load(path: Path = CHARSET_FILE) -> tuple[str, ...]:
    """Class list: blank (""), the characters of charset.txt, then the space."""
    if not path.exists():
        write(path)
    return ("", *path.read_text(encoding="utf-8").splitlines(), " ")


@lru_cache(maxsize=1)
def index() -> dict[str, int]:
    return {c: i for i, c in enumerate(load()) if i}


def encode(text: str) -> list[int]:
    """Class ids of a folded text; characters outside the charset are dropped (and counted as
    errors at scoring time, since the model can never produce them)."""
    idx = index()
    return [idx[c] for c in text if c in idx]


def covered(text: str) -> bool:
    idx = index()
    return all(c in idx for c in text)


if __name__ == "__main__":
    write()
    print(f"{CHARSET_FILE}: {len(build())} characters + blank + space")
