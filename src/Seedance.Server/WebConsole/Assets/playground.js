// The playground: prices a submission with the server's own quote as it is edited, uploads references through the
// presign flow with progress, submits, follows the task's event stream, and plays the result. It calls the API under
// /console/api (the session stands for the key, which the page never holds), with the page's antiforgery token.
"use strict";
(() => {
  const api = "/console/api/v1/video";
  const form = document.getElementById("playground");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const models = JSON.parse(form.dataset.models);
  const meanings = JSON.parse(form.dataset.meanings);
  const $ = (id) => document.getElementById(id);
  const uploads = []; // { type, file_path, role: <select> }
  const roles = { image_url: ["first_frame", "last_frame", "reference_image"], video_url: ["reference_video"], audio_url: ["reference_audio"] };
  let pendingUploads = 0;

  const call = async (method, path, body) => {
    const response = await fetch(api + path, {
      method, credentials: "same-origin",
      headers: body === undefined ? { "X-CSRF-Token": csrf } : { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const envelope = await response.json().catch(() => ({ code: "INTERNAL_ERROR", message: response.statusText }));
    if (envelope.code !== "200") throw envelope;
    return envelope.result;
  };
  const explain = (e) => `${e.code}: ${meanings[e.code] || ""} ${e.message ? "(" + e.message + ")" : ""}`.trim();

  const fill = (select, values, chosen) => {
    select.replaceChildren(...values.map((v) => { const o = new Option(v, v); o.selected = v === chosen; return o; }));
  };
  const modelChanged = () => {
    const m = models.find((x) => x.model === $("model").value) || models[0];
    fill($("resolution"), m.resolutions, m.defaultResolution);
    fill($("ratio"), m.ratios, m.defaultRatio);
    Object.assign($("duration"), { min: m.min, max: m.max, value: m.duration });
    $("generate_audio").disabled = !m.audio;
    if (!m.audio) $("generate_audio").checked = false;
  };

  const body = () => {
    const content = [{ type: "text", text: $("prompt").value },
      ...uploads.map((u) => (u.role.value ? { type: u.type, [u.type]: u.file_path, role: u.role.value } : { type: u.type, [u.type]: u.file_path }))];
    const b = {
      model: $("model").value, content, resolution: $("resolution").value, ratio: $("ratio").value,
      duration: Number($("duration").value), generate_audio: $("generate_audio").checked,
      watermark: $("watermark").checked, return_last_frame: $("return_last_frame").checked,
    };
    if ($("seed").value !== "") b.seed = Number($("seed").value);
    return b;
  };

  let quoteTimer;
  const quote = () => {
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(async () => {
      const out = $("quote");
      if (!$("prompt").value.trim()) { out.textContent = ""; return; }
      try {
        const q = await call("POST", "/quote", body());
        const left = (q.remain_credits - q.credit_cost).toFixed(2).replace(/\.?0+$/, "");
        out.textContent = `${form.dataset.textQuote} ${q.credit_cost} ${form.dataset.textCredits}, ${form.dataset.textLeaves} ${left}`
          + (q.affordable ? "" : ` — ${form.dataset.textUnaffordable}`);
        out.classList.toggle("bad", !q.affordable);
        out.dataset.cost = q.credit_cost;
      } catch (e) {
        out.textContent = explain(e);
        out.classList.add("bad");
      }
    }, 250);
  };

  const kindOf = (file) => file.type.startsWith("video/") ? "video_url" : file.type.startsWith("audio/") ? "audio_url" : "image_url";
  const upload = async (file) => {
    const item = document.createElement("li");
    const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
    bar.setAttribute("aria-label", file.name);
    item.append(`${file.name} `, bar);
    $("uploads").append(item);
    pendingUploads++;
    $("submit").disabled = true;
    try {
      const params = new URLSearchParams({ filename: file.name, content_type: file.type || "application/octet-stream" });
      const presigned = await call("POST", "/upload/presign?" + params);
      await new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", presigned.presigned_url);
        xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
        xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); };
        xhr.onload = () => (xhr.status < 300 ? resolve() : reject({ code: "FILE_UPLOAD_FAILED", message: `HTTP ${xhr.status}` }));
        xhr.onerror = () => reject({ code: "FILE_UPLOAD_FAILED", message: "network error" });
        xhr.send(file);
      });
      bar.value = 100;
      item.dataset.filePath = presigned.file_path;
      item.classList.add("done");
      const type = kindOf(file);
      const role = document.createElement("select");
      role.setAttribute("aria-label", `${form.dataset.textRole} ${file.name}`);
      role.replaceChildren(new Option("—", ""), ...roles[type].map((r) => new Option(r, r)));
      const remove = Object.assign(document.createElement("button"), { type: "button", className: "link", textContent: "×" });
      remove.setAttribute("aria-label", `${form.dataset.textRemove} ${file.name}`);
      const entry = { type, file_path: presigned.file_path, role };
      remove.addEventListener("click", () => { uploads.splice(uploads.indexOf(entry), 1); item.remove(); quote(); });
      role.addEventListener("change", quote);
      item.append(" ", role, " ", remove);
      uploads.push(entry);
      quote();
    } catch (e) {
      item.append(` ${explain(e)}`);
      item.classList.add("alert");
    } finally {
      pendingUploads--;
      $("submit").disabled = pendingUploads > 0;
    }
  };
  const take = (files) => { for (const f of files) upload(f); };

  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files); });
  $("files").addEventListener("change", (e) => take(e.target.files));

  let stream, ticker;
  const show = (task, started) => {
    $("result-status").textContent = task.status;
    $("result-status").className = "badge " + task.status;
    if (["completed", "failed", "cancelled", "expired"].includes(task.status)) {
      clearInterval(ticker);
      $("elapsed").textContent = Math.round((Date.now() - started) / 1000);
      if (stream) stream.close();
      if (task.error_code || task.error_message) {
        $("result-error").hidden = false;
        $("result-error").textContent = task.error_code ? explain({ code: task.error_code, message: task.error_message }) : task.error_message;
      }
      if (task.video_url) {
        const video = $("result-video");
        video.src = task.video_url;
        if (task.thumbnail_url) video.poster = task.thumbnail_url;
        video.hidden = false;
        $("result-download").href = task.video_url;
        $("result-links").hidden = false;
        if (task.last_frame_url) Object.assign($("result-lastframe"), { href: task.last_frame_url, hidden: false });
      }
      quote(); // the balance left moved
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (stream) stream.close();
    clearInterval(ticker);
    $("submit").disabled = true;
    for (const id of ["result-error", "result-video", "result-links", "result-lastframe"]) $(id).hidden = true;
    try {
      const submitted = await call("POST", "/task", body());
      const started = Date.now();
      $("result").hidden = false;
      $("result-task").textContent = submitted.task_id;
      $("result-task").dataset.taskId = submitted.task_id;
      show({ status: submitted.status }, started);
      ticker = setInterval(() => { $("elapsed").textContent = Math.round((Date.now() - started) / 1000); }, 1000);
      stream = new EventSource(`${api}/task/${encodeURIComponent(submitted.task_id)}/events`);
      const onEvent = (e) => show(JSON.parse(e.data), started);
      stream.addEventListener("status", onEvent);
      stream.addEventListener("progress", onEvent);
    } catch (e) {
      $("result").hidden = false;
      $("result-error").hidden = false;
      $("result-error").textContent = explain(e);
    } finally {
      $("submit").disabled = pendingUploads > 0;
    }
  });

  $("model").addEventListener("change", () => { modelChanged(); quote(); });
  for (const id of ["prompt", "resolution", "ratio", "duration", "seed", "generate_audio", "watermark", "return_last_frame"]) {
    $(id).addEventListener("input", quote);
    $(id).addEventListener("change", quote);
  }
  modelChanged();
})();
