"""Seeded mutations of real documents for fuzzing the HTTP path: bit flips, byte overwrites,
truncations, splices of two files, repeated and deleted chunks.

The same seed gives the same mutations, so a failure found in CI can be replayed by its index.
Most mutations leave the first bytes alone, so the file is still sniffed as its type and the
damage reaches the decoders rather than stopping at the signature check.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping

HEADER = 16  # bytes a mutation leaves alone, most of the time


def _start(data: bytes, rng: random.Random) -> int:
    """Where damage may begin: usually past the signature, sometimes anywhere."""
    keep = HEADER if rng.random() < 0.85 else 0
    return min(keep, max(0, len(data) - 1))


def flip_bits(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    out = bytearray(data)
    n = rng.choice((1, 2, 4, 8, 32))
    start = _start(data, rng)
    for _ in range(n):
        pos = rng.randrange(start, len(out))
        out[pos] ^= 1 << rng.randrange(8)
    return f"flip {n} bits", bytes(out)


def overwrite(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    out = bytearray(data)
    start = _start(data, rng)
    pos = rng.randrange(start, len(out))
    size = rng.choice((1, 4, 16, 256))
    fill = rng.choice((b"\x00", b"\xff", None))
    chunk = rng.randbytes(size) if fill is None else fill * size
    out[pos : pos + size] = chunk[: len(out) - pos]
    return f"overwrite {size} bytes at {pos}", bytes(out)


def truncate(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    cut = rng.choice((1, 8, 64, len(data) // 3, len(data) // 2, len(data) - 1, len(data) - 16))
    cut = max(1, min(cut, len(data) - 1))
    return f"truncate to {cut} bytes", data[:cut]


def splice(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    """The head of one file on the tail of another."""
    a = rng.randrange(_start(data, rng) or 1, len(data))
    b = rng.randrange(0, len(donor))
    return f"splice {a} bytes + donor from {b}", data[:a] + donor[b:]


def repeat_chunk(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    start = _start(data, rng)
    pos = rng.randrange(start, len(data))
    size = rng.choice((4, 64, 1024))
    times = rng.choice((2, 16, 256))
    return f"repeat {size} bytes at {pos} x{times}", data[:pos] + data[pos : pos + size] * times + (
        data[pos + size :]
    )


def delete_chunk(data: bytes, rng: random.Random, donor: bytes) -> tuple[str, bytes]:
    start = _start(data, rng)
    pos = rng.randrange(start, len(data))
    size = rng.choice((1, 16, 512))
    return f"delete {size} bytes at {pos}", data[:pos] + data[pos + size :]


MUTATIONS: list[Callable[[bytes, random.Random, bytes], tuple[str, bytes]]] = [
    flip_bits,
    overwrite,
    truncate,
    splice,
    repeat_chunk,
    delete_chunk,
]


def mutants(fixtures: Mapping[str, bytes], count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """`count` mutated documents, taking the fixtures in turn; each named `i name: mutation`."""
    names = list(fixtures)
    rng = random.Random(seed)
    for i in range(count):
        name = names[i % len(names)]
        donor = fixtures[rng.choice(names)]
        how, data = rng.choice(MUTATIONS)(fixtures[name], rng, donor)
        yield f"{i} {name}: {how}", data
