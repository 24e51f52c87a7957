// Text line OCR web UI: plain JavaScript, no framework and no build step.
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

  // API error codes -> what a person should read.
  const ERROR_MESSAGES = {
    invalid_image: "This file is not an image we can read (PNG, JPEG, BMP, WebP).",
    image_too_large: "This image is too big to read. Crop it to the line of text or scale it down, then try again.",
    payload_too_large: "This file is too large to upload. Please use an image under 10 MB.",
    missing_image: "No image was sent. Please choose an image first.",
    invalid_base64: "The image could not be sent correctly. Please choose it again.",
    invalid_json: "The image could not be sent correctly. Please choose it again.",
    unsupported_media_type: "The image could not be sent correctly. Please choose it again.",
    model_unavailable: "The text reader is not ready yet (it may be starting up). Please try again in a moment.",
    upstream_timeout: "Reading the text took too long. Please try again, or use a smaller image.",
    upstream_error: "Something went wrong on our side. Please try again.",
    internal_error: "Something went wrong on our side. Please try again.",
    network: "Could not reach the OCR service. Check your connection and try again.",
    read_failed: "This file could not be opened. Please choose another one.",
  };

  const $ = (id) => document.getElementById(id);
  const app = $("app");
  const fileInput = $("file-input");
  const dropZone = $("drop-zone");
  const preview = $("preview");
  const previewName = $("preview-name");
  const recogniseButton = $("recognise-button");
  const statusLine = $("status");
  const errorBox = $("error");
  const resultText = $("result-text");
  const resultConfidence = $("result-confidence");
  const copyButton = $("copy-button");
  const historyList = $("history");
  const historyEmpty = $("history-empty");
  const clearHistoryButton = $("clear-history");

  let currentImage = null; // data URL of the selected file
  let latestRequest = 0; // answers to older requests are ignored

  // --- state and messages ---------------------------------------------------

  function setState(state, message) {
    app.dataset.state = state; // idle | busy | done | error (tests wait on it)
    statusLine.textContent = message;
    recogniseButton.disabled = state === "busy" || !currentImage;
  }

  function showError(code) {
    errorBox.textContent = ERROR_MESSAGES[code] || `Something went wrong (${code}). Please try again.`;
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
  }

  function formatConfidence(confidence) {
    const clamped = Math.min(1, Math.max(0, Number(confidence) || 0));
    return `${(clamped * 100).toFixed(1)}%`;
  }

  // --- choosing a file -------------------------------------------------------

  function handleFile(file) {
    if (!file) return;
    clearMessages();
    // Only refuse what is clearly not an image; types the browser does not
    // know (empty string) go to the server, which checks the bytes.
    if (file.type && !file.type.startsWith("image/")) {
      showError("invalid_image");
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      showError("payload_too_large");
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      currentImage = reader.result;
      preview.src = currentImage;
      preview.alt = `Preview of ${file.name}`;
      preview.hidden = false;
      previewName.textContent = file.name;
      recognise();
    };
    reader.onerror = () => showError("read_failed");
    reader.readAsDataURL(file);
  }

  // A file that is not really an image cannot be previewed; hide the broken icon.
  preview.addEventListener("error", () => {
    preview.hidden = true;
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

  // --- recognition ------------------------------------------------------------

  async function recognise() {
    if (!currentImage) return;
    const requestId = ++latestRequest;
    clearMessages();
    setState("busy", "Reading the text…");

    let response;
    let body = null;
    try {
      response = await fetch(API_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ image: currentImage }),
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      if (requestId === latestRequest) showError("network");
      return;
    }
    if (requestId !== latestRequest) return;

    if (!response.ok || !body || typeof body.text !== "string") {
      showError((body && body.error) || (response.status === 413 ? "payload_too_large" : "upstream_error"));
      return;
    }
    resultText.textContent = body.text;
    resultConfidence.textContent = formatConfidence(body.confidence);
    copyButton.disabled = body.text === "";
    setState("done", body.text === "" ? "No text was found in this image." : "Done.");
    addToHistory(body.text, body.confidence, currentImage);
  }

  recogniseButton.addEventListener("click", recognise);

  // --- copy -------------------------------------------------------------------

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
      const copied = document.execCommand("copy");
      scratch.remove();
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

  async function addToHistory(text, confidence, imageDataUrl) {
    const entry = { text, confidence: Number(confidence) || 0, time: new Date().toISOString() };
    const thumbnail = await makeThumbnail(imageDataUrl);
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
        meta.textContent = `${formatConfidence(entry.confidence)} · ${
          Number.isNaN(when.getTime()) ? "" : when.toLocaleString()
        }`;
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
