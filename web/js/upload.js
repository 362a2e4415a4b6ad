// Checks a file against what the API would refuse, then sends it with the presigned POST
// straight to S3, reporting progress.

// The MIME type declared for each video extension the service accepts.
const VIDEO_TYPES = {
  ".avi": "video/x-msvideo",
  ".m4v": "video/x-m4v",
  ".mkv": "video/x-matroska",
  ".mov": "video/quicktime",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
};
// How long to wait for the browser to read a video's duration before giving up on that check.
const METADATA_TIMEOUT_MS = 8000;

export function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

export function humanBytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let size = n;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(1)} ${units[unit]}`;
}

/** The MIME type to declare for a video file. */
export function videoType(file) {
  return VIDEO_TYPES[extensionOf(file.name)] || file.type || "video/mp4";
}

/** Why the API would refuse this video, or null; `durationS` is checked once known. */
export function videoProblem(file, limits, durationS = null) {
  const ext = extensionOf(file.name);
  const allowed = limits.videoExtensions || Object.keys(VIDEO_TYPES);
  if (!allowed.includes(ext)) {
    return `“${file.name}” is not a video this service takes: the name must end in ${allowed.join(", ")}.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > limits.maxVideoBytes) {
    return `“${file.name}” is ${humanBytes(file.size)}, over the limit of ${humanBytes(limits.maxVideoBytes)}.`;
  }
  if (durationS !== null && durationS > limits.maxVideoSeconds) {
    return `“${file.name}” lasts ${Math.round(durationS)} s, longer than the limit of ${limits.maxVideoSeconds} s.`;
  }
  return null;
}

/** Why the API would refuse this transcript sidecar, or null. */
export function transcriptProblem(file, limits) {
  const allowed = limits.transcriptExtensions || [".srt", ".vtt"];
  if (!allowed.includes(extensionOf(file.name))) {
    return `“${file.name}” is not a transcript: the name must end in ${allowed.join(", ")}.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (limits.maxTranscriptBytes && file.size > limits.maxTranscriptBytes) {
    return `“${file.name}” is ${humanBytes(file.size)}, over the transcript limit of ${humanBytes(limits.maxTranscriptBytes)}.`;
  }
  return null;
}

/** The video's duration in seconds as the browser reads it, or null if it cannot tell. */
export function readDuration(file) {
  return new Promise((resolve) => {
    const video = document.createElement("video");
    const url = URL.createObjectURL(file);
    const done = (value) => {
      clearTimeout(timer);
      // Detach the element before the URL goes, so it stops reading the file first.
      video.removeAttribute("src");
      video.load();
      URL.revokeObjectURL(url);
      resolve(value);
    };
    const timer = setTimeout(() => done(null), METADATA_TIMEOUT_MS);
    video.preload = "metadata";
    video.muted = true;
    video.onloadedmetadata = () => done(Number.isFinite(video.duration) ? video.duration : null);
    video.onerror = () => done(null);
    video.src = url;
  });
}

function s3Message(text) {
  const match = /<Message>([^<]*)<\/Message>/.exec(text || "");
  return match ? match[1] : (text || "").trim().slice(0, 300) || "no reason given";
}

/** POST `file` with the presigned form; `onProgress(loaded, total)` as bytes go out. */
export function postFile(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", upload.url);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        reject(new Error(`the upload was refused: ${s3Message(request.responseText)}`));
      }
    });
    request.addEventListener("error", () => reject(new Error("the upload failed: the storage service could not be reached")));
    request.send(form);
  });
}
