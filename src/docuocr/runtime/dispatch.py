"""The batch loop: keep every worker busy, yield results as they finish, and try a document once
more when its worker died under it. `docuocr batch --engine local` (a process pool) and
`--engine ray` (actors) differ only in how they submit a job and wait for one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from docuocr.errors import DocuocrError

Item = TypeVar("Item")
Handle = Any  # a concurrent.futures Future, a Ray ObjectRef
TRIES = 2  # a document that kills its worker this often is reported as failed


def dispatch(
    inputs: Iterator[tuple[Item, bytes]],
    room: int,
    submit: Callable[[bytes], Handle],
    wait_any: Callable[[list[Handle]], Iterable[Handle]],
    result: Callable[[Handle], Any],
    crashed: type[BaseException] | tuple[type[BaseException], ...],
    failure: Callable[[str, str], Any],
    crash_message: str,
) -> Iterator[tuple[Item, Any]]:
    """Keep up to `room` jobs submitted; yield (item, result) as each finishes, in any order.
    A `DocuocrError` becomes `failure(code, message)`; a `crashed` error tries the document once
    more, then reports `crash_message`; anything else is one document's `internal_error`."""
    pending: dict[Handle, tuple[Item, bytes, int]] = {}
    retry: deque[tuple[Item, bytes, int]] = deque()
    while True:
        while len(pending) < room:
            if retry:
                item, data, tries = retry.popleft()
            else:
                nxt = next(inputs, None)
                if nxt is None:
                    break
                (item, data), tries = nxt, 0
            pending[submit(data)] = (item, data, tries)
        if not pending:
            return
        for handle in wait_any(list(pending)):
            item, data, tries = pending.pop(handle)
            try:
                yield item, result(handle)
            except DocuocrError as exc:
                yield item, failure(exc.code, exc.message)
            except crashed:
                if tries + 1 < TRIES:
                    retry.append((item, data, tries + 1))
                else:
                    yield item, failure("worker_crashed", crash_message)
            except Exception as exc:  # one bad document must not stop the others
                yield item, failure("internal_error", f"unexpected error: {exc!r}")
