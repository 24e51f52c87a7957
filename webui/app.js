// Text OCR web UI: plain JavaScript, no framework and no build step.
// Every string that came from a file or from the API is put in the page with
// textContent or setAttribute, never parsed as HTML.
"use strict";

(() => {
  // The only place the API URL is written. Relative, so the UI keeps working
  // whatever host, port or path prefix the gateway is served under.
  const API_URL = "api/v1/ocr";

  const HISTORY_KEY = "ocr-history";
  const HISTORY_LIMIT = 20;
  // The gateway caps the whole JSON body (15 MiB by default) and base64 adds a
  // third, so bigger files would be refused anyway; checking here gives a clear
  // message instead of a dropped upload. The server remains the authority.
  const MAX_FILE_BYTES = 10 * 1024 * 1024;
  const THUMB_MAX_WIDTH = 160;
  const THUMB_MAX_HEIGHT = 40;
  const SVG_NS = "http://www.w3.org/2000/svg";

  // API error codes -> what a person should read.
  const ERROR_MESSAGES = {
    invalid_image: "This file is not an image we can read (PNG, JPEG, BMP, WebP).",
    unsupported_file: "This file is neither an image nor a PDF. Please choose a PNG, JPEG, BMP, WebP or PDF file.",
    invalid_pdf: "This PDF could not be opened. It may be damaged or protected by a password.",
    too_many_pages: "This PDF has too many pages to read at once. Please split it into smaller files.",
    invalid_mode: "This layout choice was not accepted. Please choose Auto, Single line or Page.",
    image_too_large: "This image is too big to read. Crop it or scale it down, then try again.",
    payload_too_large: "This file is too large to upload. Please use a file under 10 MB.",
    missing_image: "No file was sent. Please choose an image or a PDF first.",
    invalid_base64: "The file could not be sent correctly. Please choose it again.",
    invalid_json: "The file could not be sent correctly. Please choose it again.",
    unsupported_media_type: "The file could not be sent correctly. Please choose it again.",
    model_unavailable: "The text reader is not ready yet (it may be starting up). Please try again in a moment.",
    upstream_timeout: "Reading the text took too long. Please try again, or use a smaller file.",
    upstream_error: "Something went wrong on our side. Please try again.",
    internal_error: "Something went wrong on our side. Please try again.",
    network: "Could not reach the OCR service. Check your connection and try again.",
    read_failed: "This file could not be opened. Please choose another one.",
  };

  const PAGE_SOURCES = { ocr: "Read by OCR", text: "From the PDF's own text" };

  const $ = (id) => document.getElementById(id);
  const app = $("app");
  const fileInput = $("file-input");
  const dropZone = $("drop-zone");
  const previewStage = $("preview-stage");
  const preview = $("preview");
  const overlay = $("overlay");
  const pdfNote = $("pdf-note");
  const previewName = $("preview-name");
  const recogniseButton = $("recognise-button");
  const statusLine = $("status");
  const errorBox = $("error");
  const resultText = $("result-text");
  const resultConfidence = $("result-confidence");
  const copyButton = $("copy-button");
  const downloadTxt = $("download-txt");
  const downloadJson = $("download-json");
  const linesBlock = $("lines-block");
  const resultLines = $("result-lines");
  const resultPages = $("result-pages");
  const historyList = $("history");
  const historyEmpty = $("history-empty");
  const clearHistoryButton = $("clear-history");

  let currentFile = null; // {dataUrl, name, isPdf} of the selected file
  let latestRequest = 0; // answers to older requests are ignored
  let downloadUrls = []; // object URLs behind the download links, revoked on the next result

  // --- state and messages ---------------------------------------------------

  function setState(state, message) {
    app.dataset.state = state; // idle | busy | done | error (tests wait on it)
    statusLine.textContent = message;
    recogniseButton.disabled = state === "busy" || !currentFile;
  }

  function showError(code, apiMessage) {
    const known = ERROR_MESSAGES[code];
    errorBox.textContent =
      known || (typeof apiMessage === "string" && apiMessage) || `Something went wrong (${code}). Please try again.`;
    errorBox.hidden = false;
    setState("error", "Could not read the text.");
  }

  function clearMessages() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    resultText.textContent = "";
    resultConfidence.textContent = "–";
    copyButton.disabled = true;
    copyButton.textContent = "Copy text";
    setDownloads(null);
    resultLines.replaceChildren();
    linesBlock.hidden = true;
    resultPages.replaceChildren();
    overlay.replaceChildren();
    overlay.toggleAttribute("hidden", true);
  }

  function formatConfidence(confidence) {
    const clamped = Math.min(1, Math.max(0, Number(confidence) || 0));
    return `${(clamped * 100).toFixed(1)}%`;
  }

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function selectedMode() {
    const checked = document.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "auto";
  }

  // --- choosing a file -------------------------------------------------------

  function isPdf(file) {
    return file.type === "application/pdf" || /\.pdf$/i.test(file.name || "");
  }

  function handleFile(file) {
    if (!file) return;
    clearMessages();
    const pdf = isPdf(file);
    // Only refuse what is clearly neither an image nor a PDF; types the browser
    // does not know (empty string) go to the server, which checks the bytes.
    if (file.type && !file.type.startsWith("image/") && !pdf) {
      showError("unsupported_file");
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      showError("payload_too_large");
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      currentFile = { dataUrl: reader.result, name: file.name || (pdf ? "document.pdf" : "image"), isPdf: pdf };
      app.dataset.kind = pdf ? "pdf" : "image";
      previewName.textContent = currentFile.name;
      pdfNote.hidden = !pdf;
      previewStage.hidden = pdf;
      if (pdf) {
        preview.hidden = true;
        preview.removeAttribute("src");
      } else {
        preview.src = currentFile.dataUrl;
        preview.alt = `Preview of ${currentFile.name}`;
        preview.hidden = false;
      }
      recognise();
    };
    reader.onerror = () => showError("read_failed");
    reader.readAsDataURL(file);
  }

  // A file that is not really an image cannot be previewed; hide the broken icon.
  preview.addEventListener("error", () => {
    if (!preview.getAttribute("src")) return;
    preview.hidden = true;
    previewStage.hidden = true;
  });

  fileInput.addEventListener("change", () => {
    handleFile(fileInput.files[0]);
    fileInput.value = ""; // so choosing the same file again still fires "change"
  });

  for (const type of ["dragenter", "dragover"]) {
    dropZone.addEventListener(type, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    dropZone.addEventListener(type, () => dropZone.classList.remove("dragging"));
  }
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    handleFile(event.dataTransfer.files[0]);
  });
  // A file dropped next to the zone would otherwise replace the whole page.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => event.preventDefault());
  }

  document.addEventListener("paste", (event) => {
    const item = [...(event.clipboardData?.items || [])].find((entry) => entry.type.startsWith("image/"));
    if (item) handleFile(item.getAsFile());
  });

  // A new layout choice reads the same file again.
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      if (currentFile) recognise();
    });
  }

  // --- recognition ------------------------------------------------------------

  // "auto" is the server's default; leaving it out also lets the gateway read PDF pages as pages.
  function requestBody(file) {
    const body = { image: file.dataUrl, filename: file.name };
    // A PDF's pages come back as small JPEGs to draw their line boxes on.
    if (file.isPdf) body.previews = true;
    const mode = selectedMode();
    if (mode !== "auto") body.mode = mode;
    return body;
  }

  async function recognise() {
    if (!currentFile) return;
    const requestId = ++latestRequest;
    const file = currentFile;
    clearMessages();
    setState("busy", file.isPdf ? "Reading the pages…" : "Reading the text…");

    let response;
    let body = null;
    try {
      response = await fetch(API_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(requestBody(file)),
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      if (requestId === latestRequest) showError("network");
      return;
    }
    if (requestId !== latestRequest) return;

    if (!response.ok || !body || typeof body.text !== "string") {
      const code = (body && body.error) || (response.status === 413 ? "payload_too_large" : "upstream_error");
      showError(code, body && body.message);
      return;
    }
    showResult(body, file);
  }

  recogniseButton.addEventListener("click", recognise);

  function showResult(body, file) {
    const lines = Array.isArray(body.lines) ? body.lines : [];
    resultText.textContent = body.text;
    resultConfidence.textContent = formatConfidence(body.confidence);
    copyButton.disabled = body.text === "";
    setDownloads(body, file.name);

    let message;
    if (Array.isArray(body.pages)) {
      renderPages(body.pages);
      message =
        body.text === ""
          ? `No text was found in this PDF (${plural(body.pages.length, "page")}).`
          : `Done: ${plural(body.pages.length, "page")}, ${plural(lines.length, "line")}.`;
    } else {
      renderLines(lines, body);
      message = body.text === "" ? "No text was found in this image." : `Done: ${plural(lines.length, "line")}.`;
      if (body.mode === "page" || body.mode === "line") {
        message += body.mode === "page" ? " Read as a page." : " Read as a single line.";
      }
      const rotation = Number(body.rotation) || 0;
      if (rotation) message += ` The page was found turned ${rotation}°.`;
    }
    setState("done", message);
    addToHistory(body, file);
  }

  // --- lines and their boxes (images) -----------------------------------------

  function lineText(line) {
    return line && typeof line.text === "string" ? line.text : "";
  }

  // onSelect(index, origin): what choosing the line does; without it the line is plain text.
  function lineItem(line, index, onSelect) {
    const item = document.createElement("li");
    item.className = "result-line";
    item.dataset.index = String(index);
    const holder = onSelect ? document.createElement("button") : document.createElement("div");
    holder.className = "line-body";
    if (onSelect) {
      holder.type = "button";
      holder.setAttribute("aria-pressed", "false");
      holder.addEventListener("click", () => onSelect(index, "list"));
    }
    const text = document.createElement("span");
    text.className = "line-text";
    text.textContent = lineText(line) || "(empty)";
    const meta = document.createElement("span");
    meta.className = "line-confidence";
    meta.textContent = formatConfidence(line && line.confidence) + (line && line.vertical ? " · vertical" : "");
    holder.append(text, meta);
    item.append(holder);
    return item;
  }

  // A box is four (or more) [x, y] points in the original image's pixels.
  function polygonPoints(box) {
    if (!Array.isArray(box) || box.length < 3) return null;
    const points = [];
    for (const point of box) {
      if (!Array.isArray(point) || point.length < 2) return null;
      const [x, y] = point.map(Number);
      if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
      points.push(`${x},${y}`);
    }
    return points.join(" ");
  }

  const selectImageLine = (index, origin) => selectLine(index, origin, overlay, resultLines);

  function renderLines(lines, body) {
    resultLines.replaceChildren(...lines.map((line, index) => lineItem(line, index, selectImageLine)));
    linesBlock.hidden = lines.length === 0;
    drawBoxes(lines, Number(body.width) || 0, Number(body.height) || 0);
  }

  function drawBoxes(lines, width, height) {
    // The boxes are in the pixels the server read: the image turned upright by its EXIF
    // orientation, as the preview shows it (style.css).
    const [naturalWidth, naturalHeight] = [preview.naturalWidth, preview.naturalHeight];
    const viewWidth = width || naturalWidth;
    const viewHeight = height || naturalHeight;
    if (!viewWidth || !viewHeight) {
      // The preview has not loaded yet and the server sent no size: draw once it has.
      if (!preview.hidden) {
        preview.addEventListener("load", () => drawBoxes(lines, width, height), { once: true });
      }
      return;
    }
    overlay.setAttribute("viewBox", `0 0 ${viewWidth} ${viewHeight}`);
    const shapes = boxShapes(lines, selectImageLine);
    overlay.replaceChildren(...shapes);
    overlay.toggleAttribute("hidden", shapes.length === 0 || preview.hidden);
  }

  // One focusable SVG polygon per line that has a box; choosing one calls onSelect(index, "box").
  function boxShapes(lines, onSelect) {
    const shapes = [];
    lines.forEach((line, index) => {
      const points = polygonPoints(line && line.box);
      if (!points) return;
      const shape = document.createElementNS(SVG_NS, "polygon");
      shape.setAttribute("points", points);
      shape.setAttribute("class", "line-box");
      shape.setAttribute("data-index", String(index));
      shape.setAttribute("tabindex", "0");
      shape.setAttribute("role", "button");
      shape.setAttribute("aria-pressed", "false");
      shape.setAttribute("aria-label", `Line ${index + 1}: ${lineText(line)}`);
      const tooltip = document.createElementNS(SVG_NS, "title");
      tooltip.textContent = lineText(line);
      shape.append(tooltip);
      shape.addEventListener("click", () => onSelect(index, "box"));
      shape.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onSelect(index, "box");
        }
      });
      shapes.push(shape);
    });
    return shapes;
  }

  // Highlights line ``index`` in one pair of box overlay and line list (the image's, or a PDF page's).
  function selectLine(index, origin, overlayElement, listElement) {
    for (const element of [...overlayElement.querySelectorAll(".selected"), ...listElement.querySelectorAll(".selected")]) {
      element.classList.remove("selected");
    }
    for (const element of [
      ...overlayElement.querySelectorAll('[aria-pressed="true"]'),
      ...listElement.querySelectorAll('[aria-pressed="true"]'),
    ]) {
      element.setAttribute("aria-pressed", "false");
    }
    const item = listElement.querySelector(`li[data-index="${index}"]`);
    const shape = overlayElement.querySelector(`[data-index="${index}"]`);
    if (item) {
      item.classList.add("selected");
      item.querySelector("button")?.setAttribute("aria-pressed", "true");
      if (origin === "box") item.scrollIntoView({ block: "nearest" });
    }
    if (shape) {
      shape.classList.add("selected");
      shape.setAttribute("aria-pressed", "true");
      if (origin === "list") shape.scrollIntoView({ block: "nearest" });
    }
  }

  // --- pages (PDFs) -----------------------------------------------------------

  function renderPages(pages) {
    resultPages.replaceChildren(
      ...pages.map((page, position) => {
        const number = Number(page && page.page) || position + 1;
        const section = document.createElement("section");
        section.className = "page-result";
        section.dataset.page = String(number);
        const headingId = `page-heading-${number}`;
        section.setAttribute("aria-labelledby", headingId);

        const heading = document.createElement("h3");
        heading.id = headingId;
        heading.textContent = `Page ${number}`;

        const lines = Array.isArray(page && page.lines) ? page.lines : [];
        const facts = [];
        const source = page && typeof page.source === "string" ? page.source : "";
        if (source) facts.push(PAGE_SOURCES[source] || `Source: ${source}`);
        facts.push(plural(lines.length, "line"));
        if (page && page.confidence !== undefined) facts.push(`confidence ${formatConfidence(page.confidence)}`);
        if (page && page.width && page.height) {
          facts.push(`${page.width} × ${page.height} px` + (page.dpi ? ` at ${page.dpi} dpi` : ""));
        }
        if (page && Number(page.rotation)) facts.push(`turned ${Number(page.rotation)}°`);
        const meta = document.createElement("p");
        meta.className = "hint page-meta";
        meta.textContent = facts.join(" · ");

        const text = document.createElement("pre");
        text.className = "page-text";
        const pageText = page && typeof page.text === "string" ? page.text : "";
        text.textContent = pageText || "(no text found on this page)";
        text.classList.toggle("empty", pageText === "");

        section.append(heading, meta);
        const list = document.createElement("ol");
        list.className = "result-lines";
        const details = document.createElement("details");
        const stage = pagePreview(page, number);
        if (stage) {
          const pageOverlay = stage.querySelector("svg");
          const select = (index, origin) => {
            details.open = true; // a box chosen on the page shows its line in the list
            selectLine(index, origin, pageOverlay, list);
          };
          pageOverlay.replaceChildren(...boxShapes(lines, select));
          list.append(...lines.map((line, index) => lineItem(line, index, select)));
          section.append(stage);
        } else {
          list.append(...lines.map((line, index) => lineItem(line, index, null)));
        }
        section.append(text);
        if (lines.length) {
          const summary = document.createElement("summary");
          summary.textContent = `Lines (${lines.length})`;
          details.append(summary, list);
          section.append(details);
        }
        return section;
      }),
    );
  }

  // The page's preview (a JPEG from the gateway) with an SVG for its line boxes, in the pixels the
  // boxes are given in (the page as rendered for reading); null when the page came without one.
  function pagePreview(page, number) {
    const source = page && typeof page.preview === "string" ? page.preview : "";
    const width = Number(page && page.width);
    const height = Number(page && page.height);
    if (!source.startsWith("data:image/") || !(width > 0) || !(height > 0)) return null;
    const stage = document.createElement("div");
    stage.className = "preview-stage page-preview";
    const image = document.createElement("img");
    image.alt = `Page ${number}`;
    image.src = source;
    const boxes = document.createElementNS(SVG_NS, "svg");
    boxes.setAttribute("class", "overlay");
    boxes.setAttribute("viewBox", `0 0 ${width} ${height}`);
    boxes.setAttribute("preserveAspectRatio", "none");
    boxes.setAttribute("role", "group");
    boxes.setAttribute("aria-label", `Text line boxes of page ${number}`);
    stage.append(image, boxes);
    return stage;
  }

  // --- copy and download ------------------------------------------------------

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      // Clipboard API missing or refused (e.g. plain http on another host): use a selection.
      const scratch = document.createElement("textarea");
      scratch.value = text;
      scratch.setAttribute("readonly", "");
      scratch.className = "visually-hidden";
      document.body.append(scratch);
      scratch.select();
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (ignored) {
        copied = false;
      }
      scratch.remove();
      copyButton.focus(); // the scratch area had taken the focus
      return copied;
    }
  }

  copyButton.addEventListener("click", async () => {
    const copied = await copyText(resultText.textContent);
    copyButton.textContent = copied ? "Copied!" : "Copy failed";
    statusLine.textContent = copied ? "Text copied to the clipboard." : "Could not copy; select the text instead.";
    setTimeout(() => {
      copyButton.textContent = "Copy text";
    }, 1500);
  });

  // "scan 01.png" -> "scan 01-ocr"; characters file systems dislike become "_".
  function downloadBase(name) {
    const stem = String(name || "")
      .replace(/\.[^./\\]*$/, "")
      .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_")
      .trim();
    return `${stem || "ocr-result"}-ocr`;
  }

  // The previews are there to draw on; the downloaded answer is the text and its boxes.
  function withoutPreviews(body) {
    if (!body || !Array.isArray(body.pages)) return body;
    return { ...body, pages: body.pages.map(({ preview, ...page }) => page) };
  }

  function setDownloads(body, name) {
    for (const url of downloadUrls) URL.revokeObjectURL(url);
    downloadUrls = [];
    const links = [
      [downloadTxt, ".txt", () => new Blob([`${body.text}\n`], { type: "text/plain;charset=utf-8" })],
      [downloadJson, ".json", () => new Blob([`${JSON.stringify(withoutPreviews(body), null, 2)}\n`], { type: "application/json" })],
    ];
    for (const [link, extension, makeBlob] of links) {
      if (!body) {
        link.removeAttribute("href");
        link.removeAttribute("download");
        link.setAttribute("aria-disabled", "true");
        continue;
      }
      const url = URL.createObjectURL(makeBlob());
      downloadUrls.push(url);
      link.href = url;
      link.download = downloadBase(name) + extension;
      link.removeAttribute("aria-disabled");
    }
  }

  // --- history (localStorage) -------------------------------------------------

  function loadHistory() {
    try {
      const entries = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(entries) ? entries.filter((entry) => entry && typeof entry.text === "string") : [];
    } catch (err) {
      return []; // corrupt or unavailable storage: start afresh
    }
  }

  function saveHistory(entries) {
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(entries));
    } catch (err) {
      // Storage full: thumbnails are the bulk, so keep the texts without them.
      try {
        localStorage.setItem(HISTORY_KEY, JSON.stringify(entries.map(({ thumbnail, ...rest }) => rest)));
      } catch (ignored) {
        // Storage disabled: history is a convenience, recognition still works.
      }
    }
  }

  function makeThumbnail(dataUrl) {
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = () => {
        const scale = Math.min(1, THUMB_MAX_WIDTH / image.width, THUMB_MAX_HEIGHT / image.height);
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(image.width * scale));
        canvas.height = Math.max(1, Math.round(image.height * scale));
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        resolve(canvas.toDataURL("image/jpeg", 0.8));
      };
      image.onerror = () => resolve(null);
      image.src = dataUrl;
    });
  }

  async function addToHistory(body, file) {
    const entry = { text: body.text, confidence: Number(body.confidence) || 0, time: new Date().toISOString() };
    if (file.name) entry.name = file.name;
    if (Array.isArray(body.pages)) entry.pages = body.pages.length;
    const thumbnail = file.isPdf ? null : await makeThumbnail(file.dataUrl);
    if (thumbnail) entry.thumbnail = thumbnail;
    saveHistory([entry, ...loadHistory()].slice(0, HISTORY_LIMIT));
    renderHistory();
  }

  function renderHistory() {
    const entries = loadHistory();
    historyList.replaceChildren(
      ...entries.map((entry) => {
        const item = document.createElement("li");
        if (entry.thumbnail) {
          const thumb = document.createElement("img");
          thumb.src = entry.thumbnail;
          thumb.alt = ""; // decorative: the text next to it says what it shows
          item.append(thumb);
        }
        const text = document.createElement("span");
        text.className = "history-text";
        text.textContent = entry.text || "(no text found)";
        const meta = document.createElement("span");
        meta.className = "hint";
        const when = new Date(entry.time);
        const facts = [formatConfidence(entry.confidence)];
        if (typeof entry.name === "string" && entry.name) facts.push(entry.name);
        if (Number(entry.pages)) facts.push(plural(Number(entry.pages), "page"));
        if (!Number.isNaN(when.getTime())) facts.push(when.toLocaleString());
        meta.textContent = facts.join(" · ");
        item.append(text, meta);
        return item;
      }),
    );
    historyEmpty.hidden = entries.length > 0;
    clearHistoryButton.disabled = entries.length === 0;
  }

  clearHistoryButton.addEventListener("click", () => {
    try {
      localStorage.removeItem(HISTORY_KEY);
    } catch (err) {
      // Storage disabled: nothing was kept anyway.
    }
    renderHistory();
  });

  renderHistory();
})();
