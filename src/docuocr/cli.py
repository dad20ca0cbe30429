"""The `docuocr` command: OCR files locally, serve the HTTP API, or run the benchmarks."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from docuocr import __version__, batch
from docuocr.calibration import command as calibrate_command
from docuocr.config import DEFAULT_MODEL, Limits, Settings, SettingsError
from docuocr.document import Document
from docuocr.errors import DocuocrError
from docuocr.formats.files import FORMATS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docuocr",
        description="Self-hosted Document OCR with an Upstage-compatible API. "
        "Settings come from DOCUOCR_* environment variables (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"docuocr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ocr = sub.add_parser(
        "ocr",
        help="read documents and write the API's JSON response (or a searchable PDF, hOCR, "
        "ALTO) for each",
        description="Read documents locally (no server needed) and write the same JSON the API "
        "returns, or with --format a searchable PDF, hOCR or ALTO XML. One file without --out "
        "prints to stdout (a PDF only when stdout is not a terminal); otherwise each FILE "
        "becomes DIR/<stem>.json (.pdf, .hocr, .xml). A file that fails is reported on stderr "
        "and the others go on; the exit code is 1 if any failed.",
    )
    ocr.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="documents: PDF, images, DOCX/PPTX/XLSX or HWP/HWPX",
    )
    ocr.add_argument(
        "--out", type=Path, metavar="DIR", help="write DIR/<stem>.json (.pdf, .hocr, .xml) per file"
    )
    ocr.add_argument(
        "--format",
        choices=FORMATS,
        default="json",
        help="json: the API's response; pdf: the pages with an invisible, searchable text "
        "layer; hocr: hOCR 1.2; alto: ALTO v4 XML (default: %(default)s)",
    )
    ocr.add_argument(
        "--schema", help="response format, as the API's `schema` field (default: Upstage's)"
    )
    ocr.add_argument(
        "--model", help=f"model, as the API's `model` field (default: {DEFAULT_MODEL})"
    )

    serve = sub.add_parser(
        "serve",
        help="serve the HTTP API",
        description="Serve POST /v1/document-ai/ocr (and /v1/document-digitization) with one "
        "server process and a pool of OCR worker processes inside it. Requests need "
        "'Authorization: Bearer <key>': the keys in DOCUOCR_API_KEYS, or else a key generated "
        "once and kept in DOCUOCR_DATA_DIR/api_key.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=int,
        help="OCR worker processes, each with its own models loaded (default: DOCUOCR_WORKERS, "
        "else the number of CPUs)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="accept requests without an API key; for local experiments only",
    )

    sub.add_parser(
        "bench",
        add_help=False,
        help="measure accuracy and speed on the shared datasets (see `docuocr bench --help`)",
    )
    batch.add_parser(sub)
    calibrate_command.add_parser(sub)
    return parser


def run() -> None:
    """The console script. After `docuocr ocr` has written and flushed every result, the process
    ends without tearing down its models and buffers one by one (0.2-0.25 s of a run on 8 pages,
    with nothing left to save); the operating system takes the memory back at once."""
    code = main()
    if sys.argv[1:2] == ["ocr"]:
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a reader that went away (`docuocr ocr a.png | head`)
            code = code or 1
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else ""
    try:
        if command == "bench":  # everything after `bench` belongs to the bench's own parser
            return _bench(argv[1:])
        args = _parser().parse_args(argv)
        if args.command == "ocr":
            return _ocr(args.files, args.out, args.schema, args.model, args.format)
        if args.command == "batch":
            return batch.main(args)
        if args.command == "calibrate":
            return calibrate_command.main(args)
        return _serve(args)
    except SettingsError as exc:  # a DOCUOCR_* variable docuocr cannot use: say which
        print(f"docuocr {command}: {exc}", file=sys.stderr)
        return 2


def _bench(argv: list[str]) -> int:
    try:
        from docuocr import bench
    except ModuleNotFoundError as exc:
        if exc.name != "docuocr.bench":
            raise
        print(
            "docuocr bench: the benchmark module (docuocr.bench) is not installed yet",
            file=sys.stderr,
        )
        return 2
    return bench.main(argv)


def _ocr(
    files: list[Path],
    out: Path | None,
    schema: str | None,
    model_name: str | None,
    fmt: str = "json",
) -> int:
    from docuocr.config import resolve_model
    from docuocr.formats import validate_schema
    from docuocr.formats.files import SUFFIXES, document_file

    try:
        model = resolve_model(model_name)
        validate_schema(schema)
    except DocuocrError as exc:
        print(f"docuocr ocr: {exc.message}", file=sys.stderr)
        return 2
    if out is None and len(files) > 1:
        print("docuocr ocr: several files need --out DIR", file=sys.stderr)
        return 2
    if schema and fmt != "json":
        print("docuocr ocr: --schema applies to --format json only", file=sys.stderr)
        return 2
    if out is None and fmt == "pdf" and sys.stdout.isatty():
        print(
            "docuocr ocr: a PDF is not for the terminal: use --out DIR (or redirect stdout)",
            file=sys.stderr,
        )
        return 2
    suffix = SUFFIXES[fmt]
    stems: dict[str, Path] = {}
    for path in files:
        if (other := stems.setdefault(path.stem, path)) != path:
            print(
                f"docuocr ocr: {other} and {path} would both write {path.stem}{suffix}",
                file=sys.stderr,
            )
            return 2
    settings = Settings.from_env(keys=False)  # a bad value stops us before anything is written
    limits, engine = settings.limits[model], settings.engine
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    failed = 0
    reads = _read_all(files, model, limits, fmt == "pdf", engine)
    for n, (path, result, seconds) in enumerate(reads, 1):
        try:
            if isinstance(result, BaseException):
                raise result
            if isinstance(result, tuple):  # the searchable PDF
                result, body = result
            else:
                body = document_file(result, fmt, schema)
            if out is None:
                sys.stdout.flush()
                sys.stdout.buffer.write(body)
                sys.stdout.buffer.flush()
            else:
                (out / f"{path.stem}{suffix}").write_bytes(body)
        except (DocuocrError, OSError) as exc:
            failed += 1
            print(f"{path}: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
            continue
        except Exception as exc:  # one bad file must not stop the others
            failed += 1
            print(f"{path}: unexpected error: {exc!r}", file=sys.stderr)
            continue
        if len(files) > 1:
            print(
                f"[{n}/{len(files)}] {path}: {len(result.pages)} page(s), {seconds:.1f} s",
                file=sys.stderr,
            )
    if failed and len(files) > 1:
        print(f"{failed} of {len(files)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _read_all(
    files: list[Path],
    model: str,
    limits: Limits,
    with_pdf: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Iterator[tuple[Path, Document | tuple[Document, bytes] | BaseException, float]]:
    """OCR each file in this process, on one thread per core with an engine of its own; yield the
    results as they finish.

    Threads, not worker processes: one interpreter starts and imports, not one per core. On 8
    FUNSD pages, two threads took 12.2-13.0 s where two processes took 14.0-14.4 s. Each engine
    compiles its own models: OpenVINO prepares every new input shape once per compiled model, but
    one model shared by both threads runs one inference at a time (17.9-21.4 s against
    14.1-16.6 s). The server and `docuocr batch` keep processes, for their memory caps and crash
    isolation.

    A thread that runs out of files lends its engine's recogniser to the others (`Spares`): at
    the end of a run, the last page's lines are read on both cores."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from docuocr.engine import Engine
    from docuocr.engine.config import load_config
    from docuocr.engine.lexicon import Lexicon
    from docuocr.engine.recognize import Spares
    from docuocr.pipeline import ocr_bytes, searchable_pdf
    from docuocr.runtime.engines import build_engine, threads_per_worker

    threads = min(len(files), os.cpu_count() or 1)
    todo: queue.SimpleQueue[Path] = queue.SimpleQueue()
    for path in files:
        todo.put(path)
    done: queue.SimpleQueue[tuple[Path, Any, float]] = queue.SimpleQueue()
    read = searchable_pdf if with_pdf else ocr_bytes
    spares = Spares()

    def work() -> None:
        engine: Engine | None = None  # tesserocr's API is not thread-safe: one per thread
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                if engine is None:
                    # An explicit DOCUOCR_ENGINE_RUNTIME_THREADS still wins, as in the server.
                    engine = build_engine(threads_per_worker(threads), overrides)
                    engine.recognize.spares = spares
                doc: Any = read(path.read_bytes(), engine, limits, model)
            except Exception as exc:  # one bad file must not stop the others
                doc = exc
            done.put((path, doc, time.perf_counter() - started))
        if engine is not None:
            spares.give(engine.recognize)

    with ThreadPoolExecutor(threads, thread_name_prefix="ocr") as pool:
        for _ in range(threads):
            pool.submit(work)
        # The word list takes 0.3 s to load, and both threads reach their first word together.
        with contextlib.suppress(Exception):  # an engine that fails reports it, file by file
            Lexicon(load_config(overrides)["lexicon"]).load()
        for _ in files:
            yield done.get()


def _setup_logging() -> None:
    from docuocr.http.middleware import RequestIdFilter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from docuocr.auth import KEY_FILE, load_or_create_key
    from docuocr.http.app import create_app
    from docuocr.http.ocr import OCR_PATHS

    settings = Settings.from_env()
    if args.workers is not None:
        settings = replace(settings, workers=args.workers)
    if args.no_auth:
        print(
            "WARNING: --no-auth: anyone who can reach this port can use the API. "
            "Use it only for local experiments.",
            file=sys.stderr,
        )
    elif not settings.api_keys:
        key = load_or_create_key(settings.data_dir)
        settings = replace(settings, api_keys=(key,))
        url = f"http://{args.host}:{args.port}{OCR_PATHS[0]}"
        print(
            f"docuocr API key (kept in {settings.data_dir / KEY_FILE}; set DOCUOCR_API_KEYS "
            f"to use your own):\n\n    {key}\n\n"
            f'Use it as: curl -H "Authorization: Bearer {key}" -F document=@page.png {url}\n',
            file=sys.stderr,
        )
    _setup_logging()
    app = create_app(settings, require_auth=not args.no_auth)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
