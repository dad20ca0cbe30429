"""What `docuocr batch` has to do: every file under IN, where its JSON goes, and which are done."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ERRORS_FILE = "_errors.jsonl"


@dataclass(frozen=True)
class Item:
    path: Path  # the input file
    rel: str  # its path under IN, with "/" separators, as reported
    out: Path  # OUT/<rel without its extension>.json


@dataclass(frozen=True)
class Failure:
    """Why a file has no JSON: an error code (as the API's) and a message."""

    code: str
    message: str


def walk(src: Path, out: Path) -> Iterator[Path]:
    """Files under `src` in a stable order, skipping hidden ones and `out` if it lies inside."""
    out = out.resolve()
    for root, dirs, files in os.walk(src):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != out)
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def plan(
    src: Path, out: Path, suffix: str = ".json"
) -> tuple[list[Item], int, list[tuple[Item, Failure]]]:
    """(files to read, files already done, files that would overwrite another's output);
    `suffix` is the output's (.json, or .pdf, .hocr, .xml for `--format`)."""
    todo: list[Item] = []
    clashes: list[tuple[Item, Failure]] = []
    owners: dict[Path, str] = {}
    done = 0
    for path in walk(src, out):
        rel = path.relative_to(src)
        item = Item(path, rel.as_posix(), out / rel.with_suffix(suffix))
        if (first := owners.setdefault(item.out, item.rel)) != item.rel:
            reason = f"{first} writes the same {item.out.name}; rename one of them"
            clashes.append((item, Failure("output_name_clash", reason)))
        elif item.out.is_file():
            done += 1
        else:
            todo.append(item)
    return todo, done, clashes
