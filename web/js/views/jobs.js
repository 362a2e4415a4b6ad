// The videos page: drop or pick a video (and a transcript), upload it, and the user's jobs,
// newest first, kept up to date by polling until every job is finished.

import { h, localTime, replace, span } from "../dom.js";
import { TERMINAL } from "../labels.js";
import { poll } from "../poll.js";
import {
  humanBytes,
  postFile,
  readDuration,
  transcriptProblem,
  videoProblem,
  videoType,
} from "../upload.js";

function statusBadge(job) {
  return h("span", { class: `status status-${job.status.toLowerCase()}` }, job.status.replace("_", " ").toLowerCase());
}

/** How long the job took (finished) or has taken so far. */
function elapsed(job) {
  const start = Date.parse(job.created_at);
  const end = TERMINAL.has(job.status) ? Date.parse(job.updated_at) : Date.now();
  return Number.isNaN(start) || Number.isNaN(end) ? "" : span(Math.max(0, (end - start) / 1000));
}

function jobsTable(jobs) {
  if (!jobs.length) return h("p", { id: "no-jobs" }, "No videos yet: upload one above.");
  return h(
    "table",
    { class: "jobs", id: "jobs-table" },
    h("caption", { class: "visually-hidden" }, "Your videos, newest first"),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "Video"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Duration")),
    ),
    h(
      "tbody",
      {},
      jobs.map((job) =>
        h(
          "tr",
          { "data-job-id": job.job_id, "data-status": job.status },
          h("td", { "data-label": "Video" }, h("a", { href: `#/jobs/${encodeURIComponent(job.job_id)}` }, job.filename)),
          h(
            "td",
            { "data-label": "State" },
            statusBadge(job),
            job.status === "FAILED" && job.reason ? h("p", { class: "reason" }, job.reason) : null,
          ),
          h("td", { "data-label": "Created" }, h("time", { datetime: job.created_at }, localTime(job.created_at))),
          h("td", { "data-label": "Duration" }, elapsed(job)),
        ),
      ),
    ),
  );
}

function uploadPanel(config, api, onUploaded) {
  const limits = config.limits;
  const message = h("p", { id: "upload-message", role: "alert", class: "error", hidden: true });
  const status = h("p", { id: "upload-status", role: "status", "aria-live": "polite" });
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const videoInput = h("input", {
    type: "file",
    id: "video-file",
    accept: [...(limits.videoExtensions || []), "video/*"].join(","),
  });
  const transcriptInput = h("input", {
    type: "file",
    id: "transcript-file",
    accept: (limits.transcriptExtensions || [".srt", ".vtt"]).join(","),
  });
  const button = h("button", { type: "submit", id: "upload-button", disabled: true }, "Upload and analyse");
  const chosen = h("p", { id: "chosen", class: "hint" }, "No video chosen.");
  let video = null;
  let durationS = null;

  const problem = (text) => {
    message.textContent = text;
    message.hidden = !text;
  };

  const choose = async (file) => {
    video = file;
    durationS = null;
    problem("");
    status.textContent = "";
    button.disabled = true;
    if (!file) {
      chosen.textContent = "No video chosen.";
      return;
    }
    chosen.textContent = `Chosen: ${file.name}`;
    let why = videoProblem(file, limits);
    if (!why) {
      durationS = await readDuration(file);
      if (video !== file) return;
      why = videoProblem(file, limits, durationS);
      if (durationS !== null) chosen.textContent = `Chosen: ${file.name} (${span(durationS)})`;
    }
    problem(why || "");
    button.disabled = Boolean(why);
  };

  videoInput.addEventListener("change", () => choose(videoInput.files[0] || null));
  transcriptInput.addEventListener("change", () => {
    const file = transcriptInput.files[0];
    const why = file ? transcriptProblem(file, limits) : null;
    problem(why || "");
    if (why) transcriptInput.value = "";
  });

  const zone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("p", {}, "Drop a video here, or "),
    h("label", { for: "video-file", class: "button secondary" }, "choose a video"),
    videoInput,
    chosen,
  );
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = [...event.dataTransfer.files];
    const transcript = files.find((file) => !transcriptProblem(file, limits));
    const picked = files.find((file) => file !== transcript);
    if (transcript) {
      const transfer = new DataTransfer();
      transfer.items.add(transcript);
      transcriptInput.files = transfer.files;
    }
    if (picked) choose(picked);
  });

  const form = h(
    "form",
    { class: "card", id: "upload-form", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Analyse a video"),
    h(
      "p",
      { class: "hint" },
      `Up to ${humanBytes(limits.maxVideoBytes)} and ${span(limits.maxVideoSeconds)}; `,
      (limits.videoExtensions || []).join(", "),
      ".",
    ),
    zone,
    h(
      "div",
      { class: "field" },
      h("label", { for: "transcript-file" }, "Transcript (optional, SRT or WebVTT)"),
      transcriptInput,
    ),
    message,
    button,
    progress,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!video) return;
    const file = video;
    const transcript = transcriptInput.files[0] || null;
    const why = videoProblem(file, limits, durationS) || (transcript && transcriptProblem(transcript, limits));
    if (why) {
      problem(why);
      return;
    }
    button.disabled = true;
    problem("");
    try {
      const body = { filename: file.name, content_type: videoType(file), size_bytes: file.size };
      if (transcript) body.transcript_filename = transcript.name;
      const created = await api.createUpload(body);
      if (transcript) {
        status.textContent = "Uploading the transcript…";
        await postFile(created.transcript_upload, transcript, () => {});
      }
      progress.hidden = false;
      progress.value = 0;
      const total = file.size;
      await postFile(created.upload, file, (loaded) => {
        const value = Math.round((loaded / total) * 100);
        progress.value = value;
        status.textContent = `Uploading ${file.name}: ${value}%`;
      });
      status.replaceChildren(
        `Uploaded ${file.name}; it is being analysed. `,
        h("a", { href: `#/jobs/${encodeURIComponent(created.job_id)}` }, "Open it"),
      );
      videoInput.value = "";
      transcriptInput.value = "";
      video = null;
      chosen.textContent = "No video chosen.";
      onUploaded();
    } catch (exc) {
      problem(exc.message);
      button.disabled = false;
    }
  });
  return form;
}

const PAGE_SIZE = 50;

export function jobsView(main, { config, api }) {
  const list = h("section", { "aria-labelledby": "jobs-title", class: "card" });
  const listBody = h("div", { id: "jobs" }, h("p", {}, "Loading…"));
  const more = h("div", { class: "actions" });
  let stop = null;
  let last = "";
  let newest = [];
  // Older pages are read once, on request: the polled first page holds the jobs still running.
  let older = [];
  let olderToken = null;

  const draw = () => {
    const seen = new Set(newest.map((job) => job.job_id));
    replace(listBody, jobsTable([...newest, ...older.filter((job) => !seen.has(job.job_id))]));
    replace(more, olderToken ? h("button", { type: "button", class: "secondary", id: "older", onclick: loadOlder }, "Show older videos") : null);
  };
  const loadOlder = async () => {
    const page = await api.listJobs(PAGE_SIZE, olderToken);
    older = [...older, ...page.jobs];
    olderToken = page.next_token;
    draw();
  };
  const refresh = async () => {
    const page = await api.listJobs(PAGE_SIZE);
    newest = page.jobs;
    if (!older.length) olderToken = page.next_token;
    const signature = JSON.stringify(newest.map((job) => [job.job_id, job.status]));
    const changed = signature !== last;
    // Redrawn only on a change, so keyboard focus inside the table survives quiet polls.
    if (changed) draw();
    last = signature;
    if (newest.every((job) => TERMINAL.has(job.status))) return "done";
    return changed ? "changed" : "same";
  };
  const restart = () => {
    if (stop) stop();
    stop = poll(refresh);
  };

  replace(list, h("h2", { id: "jobs-title" }, "Your videos"), listBody, more);
  replace(main, h("h1", { class: "visually-hidden" }, "Videos"), uploadPanel(config, api, restart), list);
  restart();
  return () => stop && stop();
}
