// One job: its state while it runs; once COMPLETED the video with the emotion and sentiment
// timeline under it, the summary, the utterance table, the result download and deletion.

import { ApiError } from "../api.js";
import { clock, h, localTime, notify, percent, replace } from "../dom.js";
import { EMOTION_COLOURS, EMOTIONS, SENTIMENT_COLOURS, SENTIMENTS, TERMINAL } from "../labels.js";
import { poll } from "../poll.js";

/** The modalities the model used: as the result names them, else what the video offered. */
function modalities(result) {
  if (Array.isArray(result.model.modalities)) return result.model.modalities.join(", ");
  const used = ["video"];
  if (result.video.has_audio) used.push("audio");
  if (result.utterances.some((u) => u.text)) used.push("text");
  return used.join(", ");
}

function distribution(caption, labels, scores, colours) {
  return h(
    "table",
    { class: "distribution" },
    h("caption", {}, caption),
    h(
      "tbody",
      {},
      labels.map((label) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, label),
          h(
            "td",
            {},
            h("span", {
              class: "bar",
              style: { width: percent(scores[label] || 0), background: colours[label] },
              "aria-hidden": "true",
            }),
          ),
          h("td", { class: "num" }, percent(scores[label] || 0)),
        ),
      ),
    ),
  );
}

function band(kind, utterance, index, duration, onSeek) {
  const scores = utterance[kind];
  const colours = kind === "emotion" ? EMOTION_COLOURS : SENTIMENT_COLOURS;
  const left = (utterance.start_s / duration) * 100;
  const width = Math.max(((utterance.end_s - utterance.start_s) / duration) * 100, 0.5);
  const text = `${clock(utterance.start_s)}–${clock(utterance.end_s)}: ${kind} ${scores.label} (${percent(scores.confidence)})${utterance.text ? `, “${utterance.text}”` : ""}`;
  return h(
    "button",
    {
      type: "button",
      class: "band",
      "data-index": index,
      "data-label": scores.label,
      "data-start": utterance.start_s,
      style: { left: `${left}%`, width: `${width}%`, background: colours[scores.label] },
      title: text,
      "aria-label": text,
      onclick: () => onSeek(index),
    },
    h("span", { class: "band-label" }, scores.label),
  );
}

function timeline(result, onSeek) {
  const duration = Math.max(result.video.duration_s, ...result.utterances.map((u) => u.end_s), 0.001);
  const row = (kind, title) =>
    h(
      "div",
      { class: "track", role: "group", "aria-label": `${title} per utterance` },
      h("span", { class: "track-title" }, title),
      h("div", { class: `lane lane-${kind}`, "data-kind": kind }, result.utterances.map((u, i) => band(kind, u, i, duration, onSeek))),
    );
  return h(
    "div",
    { class: "timeline", id: "timeline" },
    row("emotion", "Emotion"),
    row("sentiment", "Sentiment"),
    h("div", { class: "scale", "aria-hidden": "true" }, h("span", {}, clock(0, false)), h("span", {}, clock(duration, false))),
  );
}

function utteranceTable(result, onSeek) {
  return h(
    "table",
    { class: "utterances", id: "utterances" },
    h("caption", {}, "Utterances"),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Text"), h("th", { scope: "col" }, "Emotion"), h("th", { scope: "col" }, "Sentiment")),
    ),
    h(
      "tbody",
      {},
      result.utterances.map((u, i) =>
        h(
          "tr",
          { "data-index": i },
          h(
            "td",
            { "data-label": "Time" },
            h("button", { type: "button", class: "link seek", onclick: () => onSeek(i), "aria-label": `Play from ${clock(u.start_s)}` }, `${clock(u.start_s)}–${clock(u.end_s)}`),
          ),
          h("td", { "data-label": "Text", class: "text" }, u.text || h("em", {}, "(no words)")),
          h(
            "td",
            { "data-label": "Emotion" },
            h(
              "details",
              {},
              h("summary", {}, h("span", { class: "chip", style: { background: EMOTION_COLOURS[u.emotion.label] } }, u.emotion.label), ` ${percent(u.emotion.confidence)}`),
              distribution("Emotion scores", EMOTIONS, u.emotion.scores, EMOTION_COLOURS),
            ),
          ),
          h(
            "td",
            { "data-label": "Sentiment" },
            h(
              "details",
              {},
              h("summary", {}, h("span", { class: "chip", style: { background: SENTIMENT_COLOURS[u.sentiment.label] } }, u.sentiment.label), ` ${percent(u.sentiment.confidence)}`),
              distribution("Sentiment scores", SENTIMENTS, u.sentiment.scores, SENTIMENT_COLOURS),
            ),
          ),
        ),
      ),
    ),
  );
}

function summary(result) {
  const top = (scores) => Object.entries(scores).sort((a, b) => b[1] - a[1])[0]?.[0];
  return h(
    "section",
    { class: "card summary", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    h(
      "p",
      { id: "summary-text" },
      `${result.utterances.length} utterances over ${clock(result.video.duration_s)}; mostly `,
      h("strong", {}, top(result.summary.emotion) || "–"),
      " and ",
      h("strong", {}, top(result.summary.sentiment) || "–"),
      ".",
    ),
    h(
      "div",
      { class: "summary-grid" },
      distribution("Emotion over the video", EMOTIONS, result.summary.emotion, EMOTION_COLOURS),
      distribution("Sentiment over the video", SENTIMENTS, result.summary.sentiment, SENTIMENT_COLOURS),
    ),
  );
}

function modelLine(result) {
  const demo = result.model.demo === true;
  return h(
    "p",
    { class: "model", id: "model-line" },
    demo ? h("span", { class: "demo", id: "demo-label", title: "A demo model trained on synthetic data: its answers say nothing about real videos." }, "DEMO MODEL") : null,
    `Model ${result.model.name}`,
    result.model.version ? ` (${result.model.version})` : "",
    ` · modalities: ${modalities(result)} · utterances from ${result.segmentation}`,
  );
}

function download(job, result) {
  const blob = new Blob([JSON.stringify(result, null, 2)], { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(blob), download: `${job.filename.replace(/\.[^.]+$/, "")}.result.json`, class: "button secondary", id: "download" }, "Download result JSON");
  return link;
}

function deleteControl(job, api, go) {
  const dialog = h(
    "dialog",
    { id: "delete-dialog", "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, "Delete this video?"),
    h("p", {}, `“${job.filename}”, its result and its job are removed for good.`),
    h(
      "form",
      { method: "dialog", class: "actions" },
      h("button", { value: "cancel", class: "secondary", autofocus: true }, "Keep it"),
      h("button", { value: "delete", class: "danger", id: "confirm-delete" }, "Delete"),
    ),
  );
  const error = h("p", { class: "error", role: "alert", hidden: true });
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await api.deleteJob(job.job_id);
      notify(`Deleted ${job.filename}.`);
      go("#/jobs");
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  });
  const button = h("button", { type: "button", class: "danger", id: "delete", onclick: () => dialog.showModal() }, "Delete");
  return [button, dialog, error];
}

function completed(job, result, api, go) {
  const video = h("video", { id: "player", controls: true, preload: "metadata", src: job.video_url || null, "aria-label": `Video ${job.filename}` });
  const seek = (index) => {
    video.currentTime = result.utterances[index].start_s;
    video.focus();
  };
  const line = timeline(result, seek);
  const table = utteranceTable(result, seek);
  let currentIndex = -1;
  const highlight = () => {
    const t = video.currentTime;
    const index = result.utterances.findIndex((u) => t >= u.start_s && t < u.end_s);
    if (index === currentIndex) return;
    currentIndex = index;
    for (const element of [...line.querySelectorAll(".band"), ...table.querySelectorAll(":scope > tbody > tr")]) {
      const on = Number(element.dataset.index) === index;
      element.classList.toggle("current", on);
      if (on) element.setAttribute("aria-current", "true");
      else element.removeAttribute("aria-current");
    }
  };
  video.addEventListener("timeupdate", highlight);
  video.addEventListener("seeked", highlight);
  return [
    modelLine(result),
    h("div", { class: "player card" }, job.video_url ? video : h("p", {}, "The video is no longer available."), line),
    summary(result),
    h("section", { class: "card" }, table),
    h("div", { class: "actions" }, download(job, result), ...deleteControl(job, api, go)),
  ];
}

export function jobView(main, { api, go, jobId }) {
  let stop = null;
  let lastStatus = null;
  const render = async (job) => {
    const head = h(
      "header",
      { class: "job-head" },
      h("p", {}, h("a", { href: "#/jobs" }, "← All videos")),
      h("h1", {}, job.filename),
      h(
        "p",
        {},
        h("span", { class: `status status-${job.status.toLowerCase()}`, id: "job-status" }, job.status.replace("_", " ").toLowerCase()),
        ` · created ${localTime(job.created_at)}`,
      ),
    );
    if (job.status === "COMPLETED") {
      const result = await api.result(job);
      replace(main, head, ...completed(job, result, api, go));
    } else if (job.status === "FAILED") {
      replace(main, head, h("p", { class: "error", id: "job-reason" }, job.reason || "The job failed."), h("div", { class: "actions" }, ...deleteControl(job, api, go)));
    } else {
      replace(main, head, h("p", { role: "status" }, "Analysing… this page updates by itself."), h("progress", { "aria-label": "Analysing" }));
    }
  };
  stop = poll(async () => {
    let job;
    try {
      job = await api.getJob(jobId);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 404) {
        replace(main, h("h1", {}, "No such video"), h("p", {}, h("a", { href: "#/jobs" }, "Back to your videos")));
        return "done";
      }
      throw exc;
    }
    const changed = job.status !== lastStatus;
    lastStatus = job.status;
    if (changed) await render(job);
    if (TERMINAL.has(job.status)) return "done";
    return changed ? "changed" : "same";
  });
  return () => stop && stop();
}
