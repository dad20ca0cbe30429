"""Training and held-out text for the Korean line recogniser.

- kobill bills from konlpy's wheel: real sentences (training).
- kolaw/constitution.txt from the same wheel: HELD OUT, only `heldout_lines` reads it.
- the hunspell-ko word list (Debian `hunspell-ko`): vocabulary far beyond the bills.
- random KS X 1001 syllables, so every syllable is seen, not only the frequent ones.
- generated document text: dates, prices, phone numbers, addresses, receipt lines, codes.
- Latin words and digits mixed into Korean lines, punctuation, common Hanja.

The wheel is read straight from its zip, so konlpy need not be installed.
"""

from __future__ import annotations

import glob
import os
import random
import re
import unicodedata
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from training.korean import charset

REPO = Path(__file__).resolve().parents[2]
KONLPY_VERSION = "0.6.0"
HUNSPELL_KO = Path("/usr/share/hunspell/ko.dic")
HELDOUT_MEMBER = "konlpy/data/corpus/kolaw/constitution.txt"
TRAIN_MEMBERS = "konlpy/data/corpus/kobill/"


def wheel_path() -> Path:
    """konlpy's wheel: $DOCUOCR_KONLPY_WHEEL, else data/konlpy (`make train-korean` downloads it)."""
    env = os.environ.get("DOCUOCR_KONLPY_WHEEL")
    if env:
        return Path(env)
    found = sorted(glob.glob(str(REPO / "data" / "konlpy" / f"konlpy-{KONLPY_VERSION}-*.whl")))
    if not found:
        raise FileNotFoundError(
            f"konlpy wheel not found: pip download --no-deps konlpy=={KONLPY_VERSION} -d data/konlpy"
        )
    return Path(found[0])


def _clean(raw: str) -> list[str]:
    """Non-empty folded lines of a corpus file."""
    out = []
    for line in raw.replace("\x0c", "\n").splitlines():
        line = charset.fold(line)
        if line:
            out.append(line)
    return out


@lru_cache(maxsize=1)
def train_lines() -> tuple[str, ...]:
    """The kobill bills, one folded paragraph a line."""
    with zipfile.ZipFile(wheel_path()) as z:
        names = sorted(
            n for n in z.namelist() if n.startswith(TRAIN_MEMBERS) and n.endswith(".txt")
        )
        return tuple(line for n in names for line in _clean(z.read(n).decode("utf-8")))


@lru_cache(maxsize=1)
def heldout_text() -> tuple[str, ...]:
    """The constitution (evaluation only)."""
    with zipfile.ZipFile(wheel_path()) as z:
        return tuple(_clean(z.read(HELDOUT_MEMBER).decode("utf-8")))


def chunks(paragraph: str, rng: random.Random, lo: int = 4, hi: int = 32) -> list[str]:
    """Cut a paragraph into line-sized pieces at spaces, as a document's lines would be."""
    words = paragraph.split(" ")
    out: list[str] = []
    cur = ""
    target = rng.randint(lo, hi)
    for w in words:
        cand = f"{cur} {w}" if cur else w
        if len(cand) > target and cur:
            out.append(cur)
            cur = w
            target = rng.randint(lo, hi)
        else:
            cur = cand
    if cur:
        out.append(cur)
    return [c[:hi] for c in out]


def heldout_lines(n: int = 400, seed: int = 1234) -> list[str]:
    """A fixed list of `n` constitution lines (seeded), for the evaluation set."""
    rng = random.Random(seed)
    pieces = [c for p in heldout_text() for c in chunks(p, rng, 6, 30) if len(c) >= 4]
    pieces = [p for p in pieces if charset.covered(p)]
    rng.shuffle(pieces)
    return pieces[:n]


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """Korean words of hunspell-ko (empty when the package is absent)."""
    if not HUNSPELL_KO.exists():
        return ()
    words = []
    # The list is stored as decomposed jamo (NFD): compose it into syllables.
    for line in HUNSPELL_KO.read_text(encoding="utf-8").splitlines()[1:]:
        w = unicodedata.normalize("NFC", line.split("/", 1)[0].strip())
        if w and re.search(r"[\uac00-\ud7a3]", w) and charset.covered(w):
            words.append(w)
    return tuple(words)


PARTICLES = ["은", "는", "이", "가", "을", "를", "의", "에", "에서", "으로", "로", "와", "과", "도", "만",
             "까지", "부터", "에게", "한다", "하는", "된", "되어", "하여", "및", "등"]  # fmt: skip
PUNCT = [".", ",", "·", ":", ";", "?", "!", "(", ")", "「", "」", '"', "'", "-", "~", "/", "…"]
LATIN_WORDS = ["OECD", "GDP", "ISO", "R&D", "IT", "AI", "CEO", "USB", "PDF", "KTX", "LH", "KB", "SK",
    "LG", "KT", "Samsung", "Seoul", "Korea", "Tel", "Fax", "No", "e-mail", "www", "com", "co.kr",
    "go.kr", "kg", "km", "cm", "mm", "ml", "m2", "VAT", "POS", "ID", "PIN", "QR", "app", "Wi-Fi",
    "COVID-19", "UN", "WTO", "FTA", "EU", "USA", "Inc.", "Ltd.", "Co.", "Total", "Page", "Date",
    "Invoice", "Receipt", "Amount", "Price", "Qty", "Item", "Name", "Address", "Phone", "Card",
    "Visa", "Master", "approval", "cash", "change", "tax", "free", "Service", "Center"]  # fmt: skip
PLACES = ["서울특별시", "부산광역시", "대구광역시", "인천광역시", "광주광역시", "대전광역시",
    "울산광역시", "세종특별자치시", "경기도", "강원도", "충청북도", "충청남도", "전라북도",
    "전라남도", "경상북도", "경상남도", "제주특별자치도"]  # fmt: skip
DISTRICTS = ["강남구", "서초구", "종로구", "중구", "마포구", "영등포구", "수원시", "성남시", "해운대구",
    "분당구", "유성구", "동구", "남구", "북구", "덕양구", "청주시", "전주시", "포항시"]  # fmt: skip
ROADS = ["테헤란로", "세종대로", "국회대로", "올림픽로", "중앙로", "번영로", "판교역로", "월드컵로"]
ITEMS = ["아메리카노", "카페라떼", "생수", "삼각김밥", "라면", "우유", "봉투", "커피", "샌드위치",
    "치킨", "피자", "떡볶이", "김밥", "주차비", "식대", "택시비", "교통비", "숙박비", "문구류",
    "복사용지", "토너", "배송비", "부가세", "봉사료", "할인", "쿠폰"]  # fmt: skip
LABELS = ["합계", "총액", "공급가액", "부가세", "결제금액", "받은금액", "거스름돈", "카드번호", "승인번호",
    "사업자번호", "대표자", "전화", "주소", "일시", "품명", "단가", "수량", "금액", "비고", "성명",
    "생년월일", "주민등록번호", "연락처", "담당자", "부서", "직위", "계좌번호", "예금주", "납부기한",
    "발행일", "등록번호", "상호", "청구금액", "미납액", "면세", "과세"]  # fmt: skip


def _num(rng: random.Random, lo: int, hi: int) -> str:
    return f"{rng.randint(lo, hi):,}"


def number_line(rng: random.Random) -> str:
    """Dates, prices, phone numbers, addresses, receipt lines, codes and percentages."""
    y, m, d = rng.randint(1948, 2030), rng.randint(1, 12), rng.randint(1, 28)
    hh, mm = rng.randint(0, 23), rng.randint(0, 59)
    price = _num(rng, 100, 9_999_999)
    kinds: list[Callable[[], str]] = [
        lambda: f"{y}년 {m}월 {d}일",
        lambda: f"{y}. {m}. {d}.",
        lambda: f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}",
        lambda: f"{y}.{m:02d}.{d:02d}({rng.choice('월화수목금토일')})",
        lambda: f"{rng.choice(LABELS)} {price}원",
        lambda: f"{rng.choice(LABELS)}: ₩{price}",
        lambda: f"{rng.choice(ITEMS)} {rng.randint(1, 20)} {_num(rng, 500, 50000)} {price}",
        lambda: f"{rng.choice(ITEMS)} x{rng.randint(1, 9)} {price}원",
        lambda: (
            f"TEL {rng.choice(['02', '031', '051', '010', '070'])}-{rng.randint(200, 9999)}-{rng.randint(0, 9999):04d}"
        ),
        lambda: (
            f"{rng.choice(['전화', '팩스', '휴대폰'])} 0{rng.randint(10, 70)}-{rng.randint(100, 9999)}-{rng.randint(0, 9999):04d}"
        ),
        lambda: (
            f"{rng.choice(PLACES)} {rng.choice(DISTRICTS)} {rng.choice(ROADS)} {rng.randint(1, 999)}"
        ),
        lambda: (
            f"{rng.choice(ROADS)} {rng.randint(1, 300)}-{rng.randint(1, 30)}, {rng.randint(1, 20)}층 {rng.randint(101, 1999)}호"
        ),
        lambda: (
            f"(주){rng.choice(dictionary_words() or ('한국',))} 대표 {rng.choice(dictionary_words() or ('김',))}"
        ),
        lambda: f"㈜{rng.choice(dictionary_words() or ('한국',))}",
        lambda: (
            f"사업자번호 {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10000, 99999)}"
        ),
        lambda: f"{rng.choice(LABELS)} {rng.uniform(0, 100):.1f}%",
        lambda: f"전년 대비 {rng.choice('+-')}{rng.uniform(0, 50):.2f}% 증가",
        lambda: f"제{rng.randint(1, 130)}조 제{rng.randint(1, 9)}항 제{rng.randint(1, 20)}호",
        lambda: f"{rng.randint(1, 99)}. {rng.choice(LABELS)}",
        lambda: f"{rng.choice('①②③④⑤⑥⑦⑧⑨⑩')} {rng.choice(LABELS)} {price}",
        lambda: f"카드번호 {rng.randint(1000, 9999)}-****-****-{rng.randint(1000, 9999)}",
        lambda: (
            f"승인 {rng.randint(10000000, 99999999)} {hh:02d}:{mm:02d}:{rng.randint(0, 59):02d}"
        ),
        lambda: (
            f"{_num(rng, 1, 999)}{rng.choice(['㎡', 'm²', 'kg', '㎏', 'km', '개', '명', '건', '회', '%'])}"
        ),
        lambda: f"{rng.randint(1, 9)}{rng.choice(['천', '백', '십'])}{rng.randint(1, 9)}만원",
        lambda: (
            f"계좌 {rng.randint(100, 999)}-{rng.randint(10, 999999)}-{rng.randint(10, 99)}-{rng.randint(100, 999)}"
        ),
    ]
    return rng.choice(kinds)()


def syllable_line(rng: random.Random) -> str:
    """Random KS X 1001 syllables in word-sized groups: every syllable gets seen."""
    syl = charset.ksx1001_syllables()
    groups = [
        "".join(rng.choice(syl) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 6))
    ]
    return " ".join(groups)


def word_line(rng: random.Random) -> str:
    """Dictionary words with particles and punctuation, phrase-like."""
    words = dictionary_words() or tuple(" ".join(train_lines()).split())
    out = []
    for _ in range(rng.randint(1, 7)):
        w = rng.choice(words)
        if rng.random() < 0.4:
            w += rng.choice(PARTICLES)
        if rng.random() < 0.15:
            w += rng.choice(PUNCT)
        out.append(w)
    return " ".join(out)


def bill_line(rng: random.Random) -> str:
    """A line-sized piece of a real bill."""
    para = rng.choice(train_lines())
    return rng.choice(chunks(para, rng, 3, 34))


def mixed_line(rng: random.Random) -> str:
    """Korean with Latin words, digits, Hanja or symbols put in."""
    base = rng.choice([bill_line, word_line])(rng).split(" ")
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.35:
            ins = rng.choice(LATIN_WORDS)
        elif r < 0.55:
            ins = str(rng.randint(0, 99999))
        elif r < 0.75:
            ins = "".join(rng.choice(charset.HANJA) for _ in range(rng.randint(1, 4)))
            ins = f"({ins})" if rng.random() < 0.5 else ins
        elif r < 0.9:
            ins = rng.choice(charset.SYMBOLS)
        else:
            ins = "".join(rng.choice(charset.ASCII) for _ in range(rng.randint(1, 8)))
        base.insert(rng.randint(0, len(base)), ins)
    return " ".join(base)


def latin_line(rng: random.Random) -> str:
    """Mostly Latin/digit lines (codes, English labels), which Korean documents also carry."""
    parts = [
        rng.choice(LATIN_WORDS)
        if rng.random() < 0.6
        else str(rng.randint(0, 10 ** rng.randint(1, 7)))
        for _ in range(rng.randint(1, 5))
    ]
    return rng.choice([" ", " ", ": ", ", ", " / "]).join(parts)


SOURCES: list[tuple[Callable[[random.Random], str], float]] = [
    (bill_line, 0.30),
    (word_line, 0.22),
    (syllable_line, 0.13),
    (number_line, 0.15),
    (mixed_line, 0.14),
    (latin_line, 0.06),
]


def sample_text(rng: random.Random, max_len: int = 40) -> str:
    """One training line from the weighted sources, folded, within the charset, non-empty."""
    fns, weights = zip(*SOURCES, strict=True)
    while True:
        text = charset.fold(rng.choices(fns, weights)[0](rng))[:max_len].strip()
        text = "".join(c for c in text if c == " " or c in charset.index())
        if text:
            return text
