// Calls to the video-sentiment API with the signed-in user's ID token. No API key is used or
// held here: keys are for scripts, and the page only creates and lists them.

import { idToken } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);

export class Api {
  constructor(config, onSignedOut) {
    this.config = config;
    this.onSignedOut = onSignedOut;
  }

  async request(method, path, body) {
    const token = await idToken(this.config);
    if (!token) {
      this.onSignedOut();
      throw new ApiError(401, "signed_out", "Please sign in again.");
    }
    const init = { method, headers: { Authorization: `Bearer ${token}` } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    for (let attempt = 0, delay = 500; ; attempt += 1, delay *= 2) {
      response = await fetch(`${this.config.apiUrl}${path}`, init);
      if (!RETRY_STATUSES.has(response.status) || attempt >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) this.onSignedOut();
      const error = data?.error || {};
      throw new ApiError(
        response.status,
        error.code || "http_error",
        error.message || data?.message || `The API answered HTTP ${response.status}.`,
      );
    }
    return data;
  }

  createUpload(body) {
    return this.request("POST", "/uploads", body);
  }

  listJobs(limit = 50, nextToken = null) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (nextToken) query.set("next_token", nextToken);
    return this.request("GET", `/jobs?${query}`);
  }

  getJob(jobId) {
    return this.request("GET", `/jobs/${encodeURIComponent(jobId)}`);
  }

  deleteJob(jobId) {
    return this.request("DELETE", `/jobs/${encodeURIComponent(jobId)}`);
  }

  listKeys() {
    return this.request("GET", "/keys");
  }

  createKey(name) {
    return this.request("POST", "/keys", { name });
  }

  revokeKey(keyId) {
    return this.request("DELETE", `/keys/${encodeURIComponent(keyId)}`);
  }

  usage() {
    return this.request("GET", "/usage");
  }

  /** The result document of a COMPLETED job: inline, or fetched from its presigned link. */
  async result(job) {
    if (job.result) return job.result;
    if (!job.result_url) return null;
    const response = await fetch(job.result_url);
    if (!response.ok) throw new ApiError(response.status, "result_unavailable", "The result could not be downloaded.");
    return response.json();
  }
}
