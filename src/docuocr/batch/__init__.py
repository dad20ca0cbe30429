"""`docuocr batch IN OUT`: OCR a folder tree into OUT/<relative path without extension>.json.

Each JSON is exactly what the API returns for that file (`formats.render`). Files are recognised
by their content, not their names: what docuocr cannot read is skipped with its reason. A run can
be stopped and started again: files whose JSON exists are not read again (results are written
whole or not at all). Everything under IN that got no JSON in this run is listed in
`OUT/_errors.jsonl`, one `{"path", "status": "failed"|"skipped", "code", "reason"}` per line.
The exit code is 1 when a readable file failed, 0 otherwise (skipped files are not failures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from docuocr.batch.plan import ERRORS_FILE, Failure, Item, plan
from docuocr.batch.progress import Progress
from docuocr.config import DEFAULT_MODEL, Settings
from docuocr.errors import DocuocrError, UnsupportedDocument
from docuocr.formats.files import FORMATS
from docuocr.intake.sniff import sniff

ENGINES = ("local", "ray")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `batch` subcommand's arguments, for cli.py."""
    batch = sub.add_parser(
        "batch",
        help="OCR every document in a folder tree, locally or on Ray",
        description="Read every supported document under IN and write OUT/<relative path "
        "without extension>.json, the same JSON the API returns. Progress (pages/s, ETA) goes "
        "to stderr. Files whose JSON exists are skipped, so an interrupted run resumes. Files "
        "that fail or are not documents are listed in OUT/_errors.jsonl.",
    )
    batch.add_argument("src", type=Path, metavar="IN", help="folder to read, recursively")
    batch.add_argument("out", type=Path, metavar="OUT", help="folder for the JSON files")
    batch.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: a process pool here; ray: Ray actors, a local Ray unless --ray-address "
        "(default: %(default)s)",
    )
    batch.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="an existing Ray cluster, e.g. ray://head:10001 (implies --engine ray)",
    )
    batch.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="OCR processes or Ray actors, each with its own models (default: the CPUs here, "
        "or the cluster's CPUs with --ray-address)",
    )
    batch.add_argument("--schema", help="response format, as the API's `schema` field")
    batch.add_argument(
        "--format",
        choices=FORMATS,
        default="json",
        help="json: the API's response; pdf: searchable PDF; hocr: hOCR; alto: ALTO v4 XML "
        "(OUT/<path>.json, .pdf, .hocr or .xml; default: %(default)s)",
    )
    batch.add_argument(
        "--model", help=f"model, as the API's `model` field (default: {DEFAULT_MODEL})"
    )


def main(args: argparse.Namespace) -> int:
    engine = "ray" if args.ray_address else args.engine
    return run(
        args.src,
        args.out,
        engine=engine,
        workers=args.workers,
        ray_address=args.ray_address,
        schema=args.schema,
        model=args.model,
        fmt=args.format,
    )


def run(
    src: Path,
    out: Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    schema: str | None = None,
    model: str | None = None,
    stream: TextIO | None = None,
    fmt: str = "json",
) -> int:
    """Run a batch; returns the exit code (0 ok, 1 some file failed, 2 bad arguments)."""
    from docuocr.config import resolve_model
    from docuocr.formats import validate_schema
    from docuocr.formats.files import SUFFIXES, document_file

    stream = stream or sys.stderr

    def usage(message: str) -> int:
        print(f"docuocr batch: {message}", file=stream)
        return 2

    try:
        model = resolve_model(model)
        validate_schema(schema)
    except DocuocrError as exc:
        return usage(exc.message)
    if schema and fmt != "json":
        return usage("--schema applies to --format json only")
    if not src.is_dir():
        return usage(f"{src} is not a folder")
    if workers is not None and workers < 1:
        return usage("--workers must be at least 1")
    if engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            return usage("--engine ray needs Ray: pip install 'docuocr[ray]' (or `make install`)")

    # Limits, the workers' memory cap and the engine's overrides; a bad value stops us here.
    settings = Settings.from_env(keys=False)
    out.mkdir(parents=True, exist_ok=True)
    todo, done, clashes = plan(src, out, SUFFIXES[fmt])
    where = f"Ray at {ray_address}" if ray_address else ("a local Ray" if engine == "ray" else "")
    print(
        f"docuocr batch: {len(todo)} file(s) to read, {done} already done"
        + (f", on {where}" if where else ""),
        file=stream,
    )
    progress = Progress(len(todo) + len(clashes), stream)
    failed = 0
    with (out / ERRORS_FILE).open("w", encoding="utf-8") as errors:

        def report(item: Item, failure: Failure, *, skipped: bool = False) -> None:
            status = "skipped" if skipped else "failed"
            record = {"path": item.rel, "status": status, "code": failure.code}
            errors.write(json.dumps({**record, "reason": failure.message}, ensure_ascii=False))
            errors.write("\n")
            errors.flush()
            progress.note(f"{status} {item.rel}: {failure.message}")
            progress.done(item.rel, failed=not skipped, skipped=skipped)

        for item, failure in clashes:
            failed += 1
            report(item, failure)

        def inputs() -> Iterator[tuple[Item, bytes]]:
            """Read and sniff each file; hand on what docuocr can read."""
            nonlocal failed
            for item in todo:
                try:
                    data = item.path.read_bytes()
                    sniff(data)
                except UnsupportedDocument as exc:
                    report(item, Failure(exc.code, exc.message), skipped=True)
                    continue
                except DocuocrError as exc:
                    failed += 1
                    report(item, Failure(exc.code, exc.message))
                    continue
                except OSError as exc:
                    failed += 1
                    report(item, Failure("unreadable", str(exc)))
                    continue
                yield item, data

        if todo:
            # No more workers than files; against a cluster, by default every CPU it has.
            count = workers or (None if ray_address else os.cpu_count() or 1)
            count = min(count, len(todo)) if count else None
            if engine == "ray":
                from docuocr.batch import ray_engine

                results = ray_engine.read(
                    inputs(), model, settings, count, ray_address, with_pdf=fmt == "pdf"
                )
            else:
                from docuocr.batch import local

                results = local.read(inputs(), model, settings, count or 1, fmt == "pdf")
            for item, result in results:
                if isinstance(result, Failure):
                    failed += 1
                    report(item, result)
                    continue
                doc, body = result if isinstance(result, tuple) else (result, None)  # PDF made
                if body is None:
                    body = document_file(doc, fmt, schema)
                try:
                    _write_bytes(item.out, body)
                except OSError as exc:
                    failed += 1
                    report(item, Failure("unwritable", f"cannot write {item.out}: {exc}"))
                    continue
                progress.done(item.rel, len(doc.pages))
    progress.finish()
    return 1 if failed else 0


def _write_bytes(path: Path, body: bytes) -> None:
    """Whole or not at all: an interrupted run must not leave a half file that looks done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)
