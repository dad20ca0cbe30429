"""The Korean recogniser's training pipeline (training/korean): charset, rendering, the held-out
split, and one real train step + ONNX export of a tiny model. Skips without torch."""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("fontTools")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

charset = importlib.import_module("training.korean.charset")
corpus = importlib.import_module("training.korean.corpus")
fonts = importlib.import_module("training.korean.fonts")
render = importlib.import_module("training.korean.render")


def _faces_or_skip():
    try:
        return fonts.train_faces(), fonts.eval_faces()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def _train_text_or_skip() -> str:
    try:
        return "\n".join(corpus.train_lines())
    except FileNotFoundError as e:
        pytest.skip(str(e))


def test_charset_covers_every_ksx1001_syllable():
    syllables = charset.ksx1001_syllables()
    assert len(set(syllables)) == 2350
    assert syllables[0] == "가" and syllables[-1] == "힝"
    classes = charset.load()
    assert set(syllables) <= set(classes)
    assert classes[0] == "" and classes[-1] == " "  # CTC blank first, space last (PP-OCR's order)
    assert list(classes[1:-1]) == charset.build()  # charset.txt is in step with the code
    assert set("0123456789원₩%()-") <= set(classes)


def test_look_alikes_fold_to_one_dot():
    assert charset.fold("3ㆍ1  운동・정의‧인도∙평화·") == "3·1 운동·정의·인도·평화·"
    assert charset.encode("가 ㆍ") == [charset.index()["가"], charset.index()[" "]]


def test_render_gives_a_32px_line_with_ink():
    train, _ = _faces_or_skip()
    rng = random.Random(0)
    text = "대한민국 헌법 제1조 (주)한국 12,500원"
    face = render.pick_face(text, train, rng)
    assert face is not None
    img = render.to_height(render.render(text, face, rng, size=30))
    assert img.dtype == np.uint8 and img.shape[0] == render.HEIGHT
    assert img.shape[1] > 8 * render.HEIGHT  # about 20 characters wide
    assert img.min() < 100 and img.max() > 200  # dark ink on light paper


def test_heldout_fonts_and_text_never_trained_on():
    train, evaluation = _faces_or_skip()
    train_paths = {f.path for f in train}
    assert len(evaluation) == 4 and len(train) >= 30
    for face in evaluation:
        assert fonts.is_heldout(face) and face.path not in train_paths
    assert not {f.family for f in evaluation} & {f.family for f in train}
    text = _train_text_or_skip()
    evalset = importlib.import_module("training.korean.evalset")
    lines = corpus.heldout_lines(evalset.LINES, seed=evalset.SEED)  # the evaluation set's lines
    assert len(lines) == 400
    long = [ln for ln in lines if len(ln) >= 15]
    assert long and not [ln for ln in long if ln in text]
    assert "대한민국은 민주공화국이다" not in text  # constitution, article 1


def test_tiny_model_trains_one_step_and_exports_identically(tmp_path):
    import onnx
    import torch

    model = importlib.import_module("training.korean.model")
    data = importlib.import_module("training.korean.data")
    export = importlib.import_module("training.korean.export")
    train, _ = _faces_or_skip()
    torch.manual_seed(0)
    rng = random.Random(1)
    texts = ["가나다라 123", "Total 5,000원", "헌법재판소"]
    images = [render.line_image(t, render.pick_face(t, train, rng), rng) for t in texts]
    batch = data.to_tensor(images)
    ids = [charset.encode(t) for t in texts]
    net = model.CRNN(len(charset.load()), model.Size((4, 8, 8, 8), 8))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in net.parameters()]
    log_probs = net(batch).log_softmax(-1).transpose(0, 1)
    loss = torch.nn.CTCLoss(zero_infinity=True)(
        log_probs,
        torch.tensor([i for seq in ids for i in seq]),
        torch.full((len(texts),), log_probs.shape[0]),
        torch.tensor([len(seq) for seq in ids]),
    )
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))

    path = export.export(net, tmp_path / "tiny.onnx")
    assert export.check(net, path) < 1e-4
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["character"].splitlines() == list(charset.load()[1:-1])

    # The engine reads Hangul lines with the exported model instead of Tesseract when told to.
    from docuocr.engine import default_stages

    # (No Tesseract check of unsure words: an untrained model is unsure of everything.)
    route = default_stages({"hangul": {"recognizer": str(path), "fallback_below": 0.0}}).hangul
    assert route.korean is not None and route.korean.height == 32
    line = np.ascontiguousarray(np.repeat(np.asarray(images[0])[..., None], 3, axis=2))  # grey→RGB
    h, w = line.shape[:2]
    quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    pieces = route.read_hangul(line, quad)
    assert all(0.0 <= p.conf <= 1.0 and 0.0 <= p.x0 <= p.x1 <= 1.0 for p in pieces)
    assert route.tesseract._api is None  # Tesseract was never loaded
