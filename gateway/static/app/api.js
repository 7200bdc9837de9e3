// The public API, as this app uses it. The access token lives in sessionStorage, never in a cookie:
// the browser sends it only when this script asks, so another site cannot make a request with it.

const TOKEN = "smsCredits.accessToken";
const CONSISTENCY = "smsCredits.consistencyToken";
const BASE = "/api/v1";

export class Problem extends Error {
  // An RFC 9457 problem, or a network failure (status 0). `slug` is the last part of its `type`.
  constructor(status, body) {
    super(body.detail || body.title || "Something went wrong.");
    this.status = status;
    this.title = body.title || "";
    this.detail = body.detail || "";
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.slug = String(body.type || "").split("/").pop();
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  signIn(token) { sessionStorage.setItem(TOKEN, token); },
  signOut() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(CONSISTENCY);
  },
  // The ledger's sequence number after our last write: a log request carrying it waits until the
  // log has caught up with that write, so people always see what they just did.
  get consistencyToken() { return sessionStorage.getItem(CONSISTENCY); },
  rememberWrite(token) {
    if (token === null || token === undefined) return;
    const previous = Number(sessionStorage.getItem(CONSISTENCY) || 0);
    if (Number(token) > previous) sessionStorage.setItem(CONSISTENCY, String(token));
  },
};

let onUnauthenticated = () => {};
export function whenSignedOut(callback) { onUnauthenticated = callback; }

async function request(path, { method = "GET", body, headers = {}, signal, anonymous = false } = {}) {
  const sent = { method, signal, headers: { Accept: "application/json", ...headers } };
  if (!anonymous && session.token) sent.headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) {
    sent.headers["Content-Type"] = "application/json";
    sent.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, sent);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Problem(0, { title: "Offline", detail: "The server could not be reached. Check your connection and try again." });
  }
  if (response.ok) return response;
  const problem = new Problem(response.status, await problemBody(response));
  if (response.status === 401 && !anonymous) {
    session.signOut();
    onUnauthenticated();
  }
  throw problem;
}

async function problemBody(response) {
  try {
    const body = await response.json();
    if (body && typeof body === "object") return body;
  } catch { /* not JSON: fall through */ }
  return { title: response.statusText, detail: `The server answered ${response.status} ${response.statusText}.` };
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

export async function postJson(path, body, options = {}) {
  return (await request(path, { ...options, method: "POST", body })).json();
}

// For downloads: the caller reads the body as it needs (Blob, text).
export function getRaw(path, options) {
  return request(path, { ...options, headers: { Accept: "*/*" } });
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of [].concat(value)) {
      if (one !== undefined && one !== null && one !== "") search.append(key, one);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// A random (version 4) UUID. crypto.randomUUID exists only on HTTPS pages; getRandomValues everywhere.
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// One Idempotency-Key per attempt: a retry of the same request (a double click, a timeout) reuses it,
// so it cannot buy or move credits twice; a changed request is a new attempt with a new key.
export class Attempt {
  constructor() { this.reset(); }
  reset() { this.key = null; this.body = null; }
  keyFor(body) {
    const text = JSON.stringify(body);
    if (this.key === null || text !== this.body) {
      this.key = newKey();
      this.body = text;
    }
    return this.key;
  }
}
