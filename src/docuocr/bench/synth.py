"""Korean document pages with exact ground truth, for `docuocr bench --kind text`.

Real Korean text (the corpora in konlpy's wheel: `kobill/*.txt` bills for the dev split, the
`kolaw/constitution.txt` for a held-out test split) rendered as A4 pages at 150 DPI with the Debian
Nanum and Noto CJK fonts. Some sentences get English words, numbers or Hanja mixed in, as Korean
official documents have; a share of pages gets scan-like degradation. Writes `page_NNN.png` and
`page_NNN.txt` (the rendered lines, one per line).

    pip download --no-deps konlpy -d /tmp/konlpy && cd /tmp/konlpy && python -m zipfile -e konlpy-*.whl .
    python -m docuocr.bench.synth data/korean-dev --pages 20 --corpus /tmp/konlpy/konlpy/data/corpus
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PAGE = (1240, 1754)  # A4 at 150 DPI
MARGIN = (120, 130)  # left/right, top/bottom
FONT_ROOT = Path("/usr/share/fonts")
SPLITS = {"dev": "kobill/*.txt", "test": "kolaw/constitution.txt"}

# Look-alikes the corpora use that most fonts lack: rendered as their common forms.
FOLD = str.maketrans(
    {"․": "·", "‧": "·", "∙": "·", "⋅": "·", "･": "·", "｢": "「", "｣": "」", "∼": "~"}
)

# Mixed-script inserts, in the style of Korean official documents.
LATIN = [
    "(OECD 평균 2.4%)",
    "R&D 예산 1,250억원",
    "ISO 9001 인증",
    "GDP 대비 3.2%",
    "Tel. 02-788-2114",
    "Fax 02-6788-3500",
    "e-mail: info@assembly.go.kr",
    "www.law.go.kr",
    "COVID-19 이후",
    "AI 및 IT 기반",
    "No. 2010-1127",
    "Page 3 of 12",
    "(UN 협약 제12조)",
    "WTO/FTA 체제",
    "2,345,000원",
    "Smart City 사업",
]
HANJA = {
    "법률": "法律",
    "국회": "國會",
    "대한민국": "大韓民國",
    "헌법": "憲法",
    "정부": "政府",
    "국민": "國民",
    "의원": "議員",
    "공무원": "公務員",
    "대통령": "大統領",
    "국가": "國家",
    "제안": "提案",
    "개정": "改正",
}


@dataclass(frozen=True)
class Font:
    path: Path
    index: int
    name: str

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(self.path), size, index=self.index)


def find_fonts(root: Path = FONT_ROOT) -> list[Font]:
    """Korean-capable Nanum and Noto CJK faces (the KR face of each .ttc), non-monospaced."""
    fonts = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in {".ttf", ".otf", ".ttc"}:
            continue
        if "nanum" not in path.name.lower() and "cjk" not in path.name.lower():
            continue
        for index in range(16 if path.suffix.lower() == ".ttc" else 1):
            try:
                family, style = ImageFont.truetype(str(path), 24, index=index).getname()
            except OSError:
                break
            if "Mono" in family or "Coding" in family:
                continue
            if path.suffix.lower() == ".ttc" and " KR" not in family:
                continue
            fonts.append(Font(path, index, f"{family} {style}"))
    return fonts


def covers(font: ImageFont.FreeTypeFont, chars: set[str]) -> set[str]:
    """The characters in `chars` the font lacks (rendered as its .notdef box)."""
    notdef = font.getmask("\U0010fffd")
    key = (notdef.size, bytes(notdef))
    missing = set()
    for ch in chars:
        mask = font.getmask(ch)
        if (mask.size, bytes(mask)) == key:
            missing.add(ch)
    return missing


def unwrap(text: str) -> str:
    """Undo the corpora's hard line wrapping: lines ending in a space or sentence mark were whole,
    others were cut mid-word."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        stripped = line.strip()
        out.append(
            stripped
            + (" " if line.endswith(" ") or stripped[-1] in ".:)]" or len(stripped) < 12 else "")
        )
    text = re.sub(r"-\s*\d+\s*-", " ", "".join(out))  # the source's own page numbers
    return re.sub(r"\s+", " ", text).strip()


def sentences(corpus: Path, split: str) -> list[str]:
    """Sentences of the split's files that are mostly Hangul and of a readable length."""
    files = sorted(corpus.glob(SPLITS[split]))
    if not files:
        raise FileNotFoundError(f"no {SPLITS[split]} under {corpus} (konlpy's data/corpus folder)")
    out = []
    for path in files:
        text = unwrap(path.read_text(encoding="utf-8", errors="replace")).translate(FOLD)
        for s in re.split(r"(?<=[.?!])\s+|\s+(?=제\d+조[ (])", text):
            s = s.strip()
            hangul = sum("가" <= c <= "힣" for c in s)
            if 8 <= len(s) <= 240 and hangul >= 0.4 * len(s):
                out.append(s)
    return out


def mix(sentence: str, rng: random.Random) -> str:
    """Sometimes add Hanja after a word that has it, or an English/number phrase."""
    if rng.random() < 0.35:
        options = [k for k in HANJA if k in sentence]
        if options:
            word = rng.choice(options)
            sentence = sentence.replace(word, f"{word}({HANJA[word]})", 1)
    if rng.random() < 0.3:
        words = sentence.split()
        words.insert(rng.randrange(len(words) + 1), rng.choice(LATIN))
        sentence = " ".join(words)
    return sentence


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy wrap at spaces; a word wider than the line is cut by characters."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if font.getlength(line + ch) > width and line:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return lines


def render_page(
    pool: list[str], fonts: list[Font], rng: random.Random, number: int
) -> tuple[Image.Image, list[str], str]:
    """One page of paragraphs from consecutive sentences; returns image, lines and font name."""
    size = rng.randint(22, 30)
    spacing = rng.uniform(1.45, 1.8)
    start = rng.randrange(len(pool))
    paragraphs, need = [], 0
    width = PAGE[0] - 2 * MARGIN[0]
    avail = PAGE[1] - 2 * MARGIN[1] - 2 * size
    while need < avail * 1.3:  # more text than fits; the layout cuts it
        n = rng.randint(2, 4)
        para = " ".join(mix(pool[(start + k) % len(pool)], rng) for k in range(n))
        start += n
        paragraphs.append(para)
        need += (len(para) * size / width + 1.6) * size * spacing
    chars = {c for p in paragraphs for c in p if not c.isspace()}
    usable = [f for f in fonts if not covers(f.load(size), chars)] or fonts
    face = rng.choice(usable)
    font = face.load(size)
    missing = covers(font, chars)
    img = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(img)
    y, lines, bottom = MARGIN[1], [], PAGE[1] - MARGIN[1] - 2 * size
    for para in paragraphs:
        para = "".join(c for c in para if c not in missing)
        for line in wrap(para, font, width):
            if y + size > bottom:
                break
            draw.text((MARGIN[0], y), line, font=font, fill=0)
            lines.append(line)
            y += int(size * spacing)
        else:
            y += int(size * 0.7)
            continue
        break
    footer = f"- {number} -"
    fw = font.getlength(footer)
    draw.text(((PAGE[0] - fw) / 2, PAGE[1] - MARGIN[1]), footer, font=font, fill=0)
    lines.append(footer)
    return img, lines, face.name


def degrade(img: Image.Image, rng: random.Random) -> Image.Image:
    """Scan-like: a slight turn, blur, noise, a grey paper tone and JPEG artefacts."""
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.Resampling.BICUBIC, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    arr = np.asarray(img, dtype=np.float32)
    paper = rng.uniform(225, 250)
    arr = arr / 255 * (paper - 20) + 20  # ink is never pure black on a scan
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(3, 10), arr.shape)
    img = Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(35, 75))
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def generate(
    out: Path,
    pages: int,
    corpus: Path,
    split: str = "dev",
    seed: int = 0,
    degrade_share: float = 0.5,
    fonts: list[Font] | None = None,
) -> list[Path]:
    """Write `pages` pages under `out`; the same arguments always give the same pages."""
    fonts = fonts if fonts is not None else find_fonts()
    if not fonts:
        raise FileNotFoundError(
            f"no Nanum or Noto CJK fonts under {FONT_ROOT} (fonts-nanum, fonts-noto-cjk)"
        )
    pool = sentences(corpus, split)
    if not pool:
        raise ValueError(f"no usable Korean sentences in the {split} split of {corpus}")
    out.mkdir(parents=True, exist_ok=True)
    written, manifest = [], []
    for n in range(1, pages + 1):
        rng = random.Random(f"{seed}-{split}-{n}")
        img, lines, font = render_page(pool, fonts, rng, n)
        degraded = rng.random() < degrade_share
        if degraded:
            img = degrade(img, rng)
        path = out / f"page_{n:03d}.png"
        img.save(path)
        path.with_suffix(".txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
        manifest.append({"page": path.name, "font": font, "degraded": degraded, "split": split})
    # How each page was made, for reading errors by font or degradation.
    (out / "pages.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docuocr.bench.synth",
        description="Render Korean document pages (page_NNN.png + page_NNN.txt) for "
        "`docuocr bench --kind text`.",
    )
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--pages", type=int, default=20, help="pages to write (default 20)")
    p.add_argument(
        "--corpus",
        type=Path,
        required=True,
        help="konlpy's data/corpus folder (holding kobill/ and kolaw/), from its wheel",
    )
    p.add_argument(
        "--split",
        choices=sorted(SPLITS),
        default="dev",
        help="dev: kobill bills; test: the constitution, held out from development (default dev)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--degrade",
        type=float,
        default=0.5,
        metavar="SHARE",
        help="share of pages given scan-like degradation, 0 to 1 (default 0.5)",
    )
    args = p.parse_args(argv)
    try:
        written = generate(args.out, args.pages, args.corpus, args.split, args.seed, args.degrade)
    except (FileNotFoundError, ValueError) as exc:
        print(f"synth: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} pages to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
