// The public API, as this app uses it. The tokens live in localStorage, never in a cookie: the browser
// sends them only when this script asks, so another site cannot make a request with them. localStorage
// rather than sessionStorage so that every tab of the browser shares one session: signing in, renewing
// or signing out in one tab does it for all.
//
// An access token lasts minutes; the refresh token renews it (and is itself replaced: each works once)
// shortly before it expires, or when the server answers 401 `token-expired`, so a person at work is
// never sent back to the sign-in page. Tabs renew one at a time (Web Locks): two tabs sending the same
// refresh token would look like a stolen copy to the server, which then ends the session.

const ACCESS = "smsCredits.accessToken";
const EXPIRES = "smsCredits.accessTokenExpiresAt";
const REFRESH = "smsCredits.refreshToken";
const CONSISTENCY = "smsCredits.consistencyToken";
const BASE = "/api/v1";
const RENEW_BEFORE_MS = 60_000;

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
  get token() { return localStorage.getItem(ACCESS); },
  get signedIn() { return Boolean(localStorage.getItem(REFRESH) || localStorage.getItem(ACCESS)); },
  // An answer of /auth/token or /auth/refresh.
  signIn(answer) {
    localStorage.setItem(ACCESS, answer.access_token);
    localStorage.setItem(EXPIRES, String(Date.now() + answer.expires_in * 1000));
    if (answer.refresh_token) localStorage.setItem(REFRESH, answer.refresh_token);
  },
  signOut() {
    for (const key of [ACCESS, EXPIRES, REFRESH]) localStorage.removeItem(key);
    sessionStorage.removeItem(CONSISTENCY);
  },
  get expiresSoon() { return Number(localStorage.getItem(EXPIRES) || 0) - Date.now() < RENEW_BEFORE_MS; },
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

// Signed out in another tab (or the session ended there): this one follows.
window.addEventListener("storage", (event) => {
  if (event.key === REFRESH && event.oldValue && !event.newValue) onUnauthenticated();
});

const OFFLINE = { title: "Offline", detail: "The server could not be reached. Check your connection and try again." };

async function send(path, sent) {
  try {
    return await fetch(BASE + path, sent);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Problem(0, OFFLINE);
  }
}

// One renewal at a time in this tab, and across tabs through a Web Lock. Answers whether the session
// goes on (false: it is over, sign in again); a server or network failure throws, and the session stays.
let renewing = null;
export function renew() {
  renewing ??= renewOnce().finally(() => { renewing = null; });
  return renewing;
}

async function renewOnce() {
  const known = localStorage.getItem(REFRESH);
  const exchange = async () => {
    const current = localStorage.getItem(REFRESH);
    if (!current) return false;
    if (current !== known) return true; // another tab renewed while this one waited for the lock
    const response = await send("/auth/refresh", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current }),
    });
    if (response.ok) {
      session.signIn(await response.json());
      return true;
    }
    if (response.status === 401) return false;
    throw new Problem(response.status, await problemBody(response));
  };
  return navigator.locks ? navigator.locks.request("smsCredits.renew", exchange) : exchange();
}

function sessionOver() {
  session.signOut();
  onUnauthenticated();
}

async function request(path, { method = "GET", body, headers = {}, signal, anonymous = false } = {}) {
  const sent = { method, signal, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    sent.headers["Content-Type"] = "application/json";
    sent.body = JSON.stringify(body);
  }
  if (!anonymous && localStorage.getItem(REFRESH) && session.expiresSoon && !(await renew())) {
    sessionOver();
    throw new Problem(401, { title: "Signed out", detail: "Your session has ended. Sign in again." });
  }
  for (let attempt = 0; ; attempt += 1) {
    if (!anonymous && session.token) sent.headers.Authorization = `Bearer ${session.token}`;
    const response = await send(path, sent);
    if (response.ok) return response;
    const problem = new Problem(response.status, await problemBody(response));
    if (response.status !== 401 || anonymous) throw problem;
    // Expired early (a sleeping laptop, a clock off): renew once and send the same request again.
    if (problem.slug === "token-expired" && attempt === 0 && (await renew())) continue;
    sessionOver();
    throw problem;
  }
}

// Sign out: the server ends the session (every tab's), then this browser forgets it. Offline, the
// browser forgets it all the same; the session then ends when it expires.
export async function signOut() {
  const refresh = localStorage.getItem(REFRESH);
  session.signOut();
  if (!refresh) return;
  try {
    await fetch(`${BASE}/auth/logout`, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
      keepalive: true,
    });
  } catch { /* offline: nothing more to do */ }
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

export async function putJson(path, body, options = {}) {
  return (await request(path, { ...options, method: "PUT", body })).json();
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
