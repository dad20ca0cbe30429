// docuocr viewer: sends the chosen document to POST viewer/ocr and draws every word of the
// Upstage response as a polygon over the page image the OCR read. Plain script, no dependencies.
"use strict";

(() => {
  const KEY_STORE = "docuocr.apiKey"; // sessionStorage only: the key is gone with the tab
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  const ui = {
    key: $("api-key"),
    file: $("document"),
    schema: $("schema"),
    threshold: $("threshold"),
    slider: $("threshold-slider"),
    prev: $("prev-page"),
    next: $("next-page"),
    pageLabel: $("page-label"),
    showAll: $("show-all"),
    zoom: $("zoom"),
    viewport: $("viewport"),
    empty: $("empty"),
    busy: $("busy"),
    busyLabel: $("busy-label"),
    pages: $("pages"),
    error: $("error"),
    summary: $("summary"),
    sumPages: $("sum-pages"),
    sumWords: $("sum-words"),
    sumLow: $("sum-low"),
    sumConfidence: $("sum-confidence"),
    nextLow: $("next-low"),
    download: $("download"),
    downloadPdf: $("download-pdf"),
    status: $("status"),
    text: $("text"),
    textPage: $("text-page"),
    tooltip: $("tooltip"),
    tooltipText: $("tooltip-text"),
    tooltipMeta: $("tooltip-meta"),
  };

  const state = {
    result: null, // {formats, previews} from the server
    fileName: "",
    file: null, // the File that was read, sent again for its searchable PDF
    words: [], // {id, text, confidence, page, poly, span}, in the API's id order
    byId: new Map(),
    current: null, // the word last focused, where "Next to check" goes on from
    tipWord: null, // the word the tooltip is showing
    figures: [], // one <figure> per page
    texts: [], // one text block per page
    page: 0,
    threshold: 0.8,
    controller: null, // aborts a request that a newer one replaces
    lastStatus: 0,
    retryTimer: 0,
  };

  // ---- small helpers ----

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  const fmt = (x) => Number(x).toFixed(4);

  function setState(name) {
    document.body.dataset.state = name;
  }

  function showError(message, status, code) {
    ui.error.textContent = message;
    if (status || code) {
      const detail = el("span", { class: "code" }, [status && `HTTP ${status}`, code].filter(Boolean).join(" · "));
      ui.error.append(detail);
    }
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  // ---- the API key: session storage only ----

  ui.key.value = sessionStorage.getItem(KEY_STORE) || "";
  ui.key.addEventListener("input", () => {
    sessionStorage.setItem(KEY_STORE, ui.key.value.trim());
    // A document that was refused for its key is read again once the key is corrected.
    if (state.lastStatus === 401 && ui.file.files.length) {
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(run, 700);
    }
  });

  // ---- the request ----

  async function run() {
    clearTimeout(state.retryTimer);
    const file = ui.file.files[0];
    if (!file) return;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;

    clearError();
    setState("busy");
    ui.empty.hidden = true;
    ui.busy.hidden = false;
    const started = performance.now();
    const tick = () => {
      const s = ((performance.now() - started) / 1000).toFixed(0);
      ui.busyLabel.textContent = `Reading ${file.name}… ${s} s`;
    };
    tick();
    const timer = setInterval(tick, 1000);

    const body = new FormData();
    body.append("document", file, file.name);
    const headers = {};
    const key = ui.key.value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;

    let response;
    let data = null;
    try {
      response = await fetch("viewer/ocr", { method: "POST", headers, body, signal: controller.signal });
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      finish(timer);
      state.lastStatus = 0;
      setState("error");
      showError(`The docuocr server cannot be reached (${err.message}).`);
      return;
    }
    if (controller.signal.aborted) return;
    finish(timer);
    state.lastStatus = response.status;

    if (!response.ok || !data || !data.formats) {
      setState("error");
      const error = (data && data.error) || {};
      let message = error.message || `The server answered HTTP ${response.status}.`;
      if (response.status === 401) message += "\nEnter the key that docuocr serve printed.";
      showError(message, response.status, error.code);
      if (!state.result) ui.empty.hidden = false;
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    show(data, file.name);
    state.file = file;
    ui.status.textContent = `${file.name}: read in ${seconds.toFixed(1)} s.`;
    setState("done");
  }

  function finish(timer) {
    clearInterval(timer);
    ui.busy.hidden = true;
    state.controller = null;
  }

  // ---- drawing ----

  function show(result, fileName) {
    state.result = result;
    state.fileName = fileName;
    state.words = [];
    state.figures = [];
    state.texts = [];
    state.current = null;
    ui.pages.replaceChildren();
    ui.text.replaceChildren();
    hideTooltip();

    const upstage = result.formats.upstage;
    upstage.pages.forEach((page, index) => {
      const preview = result.previews[index] || {};
      const width = page.width || preview.width;
      const height = page.height || preview.height;
      const figure = el("figure", { class: "page", "data-page": String(index) });
      figure.dataset.width = width;
      figure.dataset.height = height;
      figure.style.aspectRatio = `${width} / ${height}`;
      figure.hidden = true;
      const img = el("img", { src: preview.url || "", alt: `Page ${index + 1}`, draggable: "false" });
      // Boxes are in page pixels; the viewBox maps them onto the image at any zoom.
      const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none" });
      const block = el("div", { class: "page-text" });
      block.hidden = true;

      let pos = 0;
      const pageText = page.text || "";
      for (const word of page.words) {
        const points = word.boundingBox.vertices.map((v) => `${v.x},${v.y}`).join(" ");
        const poly = svgEl("polygon", {
          class: "word",
          points,
          tabindex: "0",
          "data-word-id": String(word.id),
          "data-confidence": String(word.confidence),
          "aria-label": `${word.text}, confidence ${fmt(word.confidence)}`,
        });
        svg.append(poly);

        // The page text with each word as a span, keeping the API's spaces and line breaks.
        const span = el("span", { class: "w", "data-ref": String(word.id) }, word.text);
        const at = word.text ? pageText.indexOf(word.text, pos) : -1;
        if (at >= 0) {
          block.append(pageText.slice(pos, at));
          pos = at + word.text.length;
        } else if (block.childNodes.length) {
          block.append(" ");
        }
        block.append(span);

        const entry = { id: word.id, text: word.text, confidence: word.confidence, page: index, poly, span };
        state.words.push(entry);
      }
      block.append(pageText.slice(pos));
      if (!page.words.length) block.append(el("span", { class: "none" }, "No text was found on this page."));

      figure.append(img, svg);
      ui.pages.append(figure);
      ui.text.append(block);
      state.figures.push(figure);
      state.texts.push(block);
    });
    state.byId = new Map(state.words.map((w) => [String(w.id), w]));

    ui.summary.hidden = false;
    ui.sumPages.textContent = String(upstage.pages.length);
    ui.sumWords.textContent = String(state.words.length);
    ui.sumConfidence.textContent = upstage.pages.length ? fmt(upstage.confidence) : "–";
    ui.sumConfidence.title = "The lowest page's mean word confidence, as the API reports it";
    ui.download.disabled = false;
    ui.downloadPdf.disabled = false;
    updateDownloadLabel();
    applyThreshold();
    showPage(0);
  }

  function layout() {
    const mode = ui.zoom.value;
    const style = getComputedStyle(ui.viewport);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const availW = ui.viewport.clientWidth - padX;
    const availH = ui.viewport.clientHeight - padY;
    for (const figure of state.figures) {
      const w = Number(figure.dataset.width);
      const h = Number(figure.dataset.height);
      let width = w;
      if (mode === "width") width = availW;
      else if (mode === "page") width = Math.min(availW, (availH * w) / h);
      figure.style.width = `${Math.max(50, Math.floor(width))}px`;
    }
  }

  function showPage(index) {
    const count = state.figures.length;
    if (!count) return;
    state.page = Math.max(0, Math.min(count - 1, index));
    state.figures.forEach((f, i) => { f.hidden = i !== state.page; });
    state.texts.forEach((t, i) => { t.hidden = i !== state.page; });
    ui.pageLabel.textContent = `Page ${state.page + 1} of ${count}`;
    ui.textPage.textContent = count > 1 ? `· page ${state.page + 1}` : "";
    ui.prev.disabled = state.page === 0;
    ui.next.disabled = state.page === count - 1;
    hideTooltip();
    layout();
    ui.viewport.scrollTo(0, 0);
  }

  // ---- the threshold ----

  function readThreshold(value) {
    const t = Number.parseFloat(value);
    return Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : null;
  }

  function applyThreshold() {
    let low = 0;
    for (const w of state.words) {
      const check = w.confidence < state.threshold;
      w.poly.classList.toggle("low-confidence", check);
      w.span.classList.toggle("check", check);
      if (check) low += 1;
    }
    ui.sumLow.textContent = state.result ? String(low) : "";
    ui.sumLow.title = `Words with a confidence below ${state.threshold}`;
    ui.nextLow.disabled = low === 0;
  }

  ui.threshold.addEventListener("input", () => {
    const t = readThreshold(ui.threshold.value);
    if (t === null) return; // half-typed: keep the last threshold
    state.threshold = t;
    ui.slider.value = String(t);
    applyThreshold();
  });
  ui.slider.addEventListener("input", () => {
    state.threshold = readThreshold(ui.slider.value) ?? state.threshold;
    ui.threshold.value = ui.slider.value;
    applyThreshold();
  });

  // ---- hover and focus: text and confidence ----

  function wordOf(node) {
    const id = node && node.getAttribute && (node.getAttribute("data-word-id") ?? node.getAttribute("data-ref"));
    return id == null ? null : state.byId.get(id);
  }

  function showTooltip(word) {
    ui.tooltipText.textContent = word.text || "(empty)";
    ui.tooltipMeta.replaceChildren();
    const check = word.confidence < state.threshold;
    const conf = el("span", { class: check ? "check" : "" }, `confidence ${fmt(word.confidence)}`);
    ui.tooltipMeta.append(conf, ` · word ${word.id}`);
    if (check) ui.tooltipMeta.append(" · check this word");
    ui.tooltip.hidden = false;
    state.tipWord = word;
    const box = word.poly.getBoundingClientRect();
    const tip = ui.tooltip.getBoundingClientRect();
    let left = box.left + box.width / 2 - tip.width / 2;
    left = Math.max(6, Math.min(window.innerWidth - tip.width - 6, left));
    let top = box.top - tip.height - 8;
    if (top < 6) top = box.bottom + 8;
    ui.tooltip.style.left = `${left}px`;
    ui.tooltip.style.top = `${top}px`;
  }

  function hideTooltip() {
    ui.tooltip.hidden = true;
    state.tipWord = null;
  }

  function setHot(word, on) {
    word.poly.classList.toggle("hot", on);
    word.span.classList.toggle("hot", on);
  }

  ui.pages.addEventListener("pointerover", (e) => {
    const word = wordOf(e.target);
    if (word) { setHot(word, true); showTooltip(word); }
  });
  ui.pages.addEventListener("pointerout", (e) => {
    const word = wordOf(e.target);
    if (word) {
      setHot(word, false);
      if (document.activeElement !== word.poly) hideTooltip();
    }
  });
  ui.pages.addEventListener("focusin", (e) => {
    const word = wordOf(e.target);
    if (word) { state.current = word; setHot(word, true); showTooltip(word); }
  });
  ui.pages.addEventListener("focusout", (e) => {
    const word = wordOf(e.target);
    if (word) { setHot(word, false); hideTooltip(); }
  });
  ui.text.addEventListener("pointerover", (e) => {
    const word = wordOf(e.target);
    if (word) setHot(word, true);
  });
  ui.text.addEventListener("pointerout", (e) => {
    const word = wordOf(e.target);
    if (word) setHot(word, false);
  });
  ui.text.addEventListener("click", (e) => {
    const word = wordOf(e.target);
    if (word) focusWord(word);
  });
  // Scrolling moves the page under the tooltip: follow a focused word, drop a hovered one.
  ui.viewport.addEventListener("scroll", () => {
    const word = state.tipWord;
    if (word && document.activeElement === word.poly) showTooltip(word);
    else hideTooltip();
  });

  function focusWord(word) {
    if (word.page !== state.page) showPage(word.page);
    word.poly.scrollIntoView({ block: "center", inline: "center" });
    word.poly.focus({ preventScroll: true });
  }

  // The next word under the threshold after the focused one, across pages.
  ui.nextLow.addEventListener("click", () => {
    const low = state.words.filter((w) => w.confidence < state.threshold);
    if (!low.length) return;
    const current = state.current;
    const after = current ? low.find((w) => w.id > current.id) : null;
    focusWord(after || low[0]);
  });

  // ---- pages, zoom, download ----

  ui.prev.addEventListener("click", () => showPage(state.page - 1));
  ui.next.addEventListener("click", () => showPage(state.page + 1));
  document.addEventListener("keydown", (e) => {
    if (!state.figures.length || e.target.closest("input, select, textarea")) return;
    if (e.key === "PageDown" || e.key === "ArrowRight") showPage(state.page + 1);
    else if (e.key === "PageUp" || e.key === "ArrowLeft") showPage(state.page - 1);
  });
  ui.zoom.addEventListener("change", layout);
  new ResizeObserver(layout).observe(ui.viewport);
  ui.showAll.addEventListener("change", () => {
    ui.pages.classList.toggle("only-low", !ui.showAll.checked);
  });

  function schemaName() {
    return ui.schema.value || "upstage";
  }

  function updateDownloadLabel() {
    const label = ui.schema.options[ui.schema.selectedIndex].text;
    ui.download.textContent = `Download JSON (${label})`;
  }

  // Every schema comes back with the one OCR run, so switching only changes the download.
  ui.schema.addEventListener("change", updateDownloadLabel);

  ui.download.addEventListener("click", () => {
    if (!state.result) return;
    const name = schemaName();
    const json = JSON.stringify(state.result.formats[name], null, 2);
    const url = URL.createObjectURL(new Blob([json + "\n"], { type: "application/json" }));
    const stem = state.fileName.replace(/\.[^.]*$/, "") || "document";
    const link = el("a", { href: url, download: `${stem}.${name}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  // The PDF is made on the server, from the page images it reads: the document is sent again.
  ui.downloadPdf.addEventListener("click", async () => {
    const file = state.file;
    if (!file) return;
    const body = new FormData();
    body.append("document", file, file.name);
    const headers = {};
    const key = ui.key.value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    ui.downloadPdf.disabled = true;
    ui.status.textContent = `Making the searchable PDF of ${file.name}…`;
    try {
      const response = await fetch("v1/docuocr/searchable-pdf", { method: "POST", headers, body });
      if (!response.ok) {
        let error = {};
        try {
          error = (await response.json()).error || {};
        } catch {
          error = {};
        }
        showError(error.message || `The server answered HTTP ${response.status}.`, response.status, error.code);
        ui.status.textContent = "";
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const stem = file.name.replace(/\.[^.]*$/, "") || "document";
      const link = el("a", { href: url, download: `${stem}.pdf` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      ui.status.textContent = `${file.name}: searchable PDF downloaded.`;
    } catch (err) {
      showError(`The docuocr server cannot be reached (${err.message}).`);
    } finally {
      ui.downloadPdf.disabled = state.file === null;
    }
  });

  ui.file.addEventListener("change", run);
  state.threshold = readThreshold(ui.threshold.value) ?? 0.8; // a reload may restore the field
  ui.slider.value = String(state.threshold);
  updateDownloadLabel();
})();
