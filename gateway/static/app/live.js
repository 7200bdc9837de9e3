// Live updates: the API's Server-Sent Events stream (GET /api/v1/stream, see docs/live-stream.md), so the
// credits box, the log and the Send SMS result change as things happen, without a reload.
//
// EventSource cannot send an Authorization header, so the stream is read with fetch() and the small
// parser below. It reconnects by itself, each time with Last-Event-ID so that what happened meanwhile is
// delivered, or a `reset` says to reload: after a short pause when the server ended the stream (the access
// token expired or the person's rights changed: with a renewed token) or the token was just renewed, after
// a growing pause when the server or the network failed. It stops for good when the session is over (a
// 401 even with a renewed token) or the person may not stream at all (403): asking again would not help.

import { renew, session } from "./api.js";

const PATH = "/api/v1/stream";
const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 30_000;
// Even an expected reconnection waits a moment, spread at random (0.5 to 1.5 times this): a server that
// ends streams as soon as they open is not hammered, and a replica's clients do not all come back at once.
const SHORT_PAUSE_MS = 500;

const listeners = new Map(); // event name -> Set of callbacks(data)
let lastEventId = null;
let running = false;
let connected = false;
let controller = null;

// `callback(data)` for every message named `name` (balance, hold, message, purchase, low_balance,
// credit_mode, reset, and "connected" with true/false). Answers a function that stops listening.
export function onLive(name, callback) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(callback);
  return () => listeners.get(name).delete(callback);
}

export const live = {
  get connected() { return connected; },
};

function emit(name, data) {
  for (const callback of listeners.get(name) || []) {
    try {
      callback(data);
    } catch (error) {
      console.error(`live ${name} listener failed`, error); // one broken view must not stop the others
    }
  }
}

function setConnected(value) {
  if (connected === value) return;
  connected = value;
  // Said on the page too (the browser tests wait for it; a style could show it).
  document.documentElement.dataset.live = value ? "connected" : "disconnected";
  emit("connected", value);
}

// Parse an SSE body: calls `onMessage({ id, event, data })` per message; `id` is the last id seen (the
// standard's "last event ID" carries over messages that have none). Answers when the body ends.
export async function readEvents(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  let id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line === "") {
        if (data.length) onMessage({ id, event: event || "message", data: data.join("\n") });
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: the heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = text;
      else if (field === "data") data.push(text);
      else if (field === "id" && !text.includes("\u0000")) id = text;
    }
  }
}

function dispatch(message) {
  if (message.id) lastEventId = message.id;
  let data;
  try {
    data = JSON.parse(message.data);
  } catch {
    return;
  }
  emit(message.event, data);
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

async function connect() {
  const headers = { Accept: "text/event-stream", Authorization: `Bearer ${session.token}` };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  controller = new AbortController();
  return fetch(PATH, { headers, signal: controller.signal, cache: "no-store" });
}

async function run() {
  let wait = FIRST_PAUSE_MS;
  let renewed = false; // the previous attempt was a 401 that renewed the token
  while (running) {
    let ended = "failed";
    try {
      // The stream closes when its token expires: a fresh token first, as api.js would for a request.
      if (session.expiresSoon && !(await renew())) break;
      const response = await connect();
      if (response.status === 401) {
        // Refused again with a token just renewed: the session is over, or the person may no longer sign in.
        ended = !renewed && (await renew()) ? "renewed" : "over";
      } else if (response.status === 403) {
        ended = "over"; // the stream is not for this caller (an operator): asking again would not change it
      } else if (response.ok && response.body) {
        setConnected(true);
        const opened = Date.now();
        await readEvents(response.body, dispatch);
        // Ended by the server (the token expired, the person's rights changed, the server is stopping or
        // lost the bus): again shortly, unless it keeps ending as soon as it opens.
        if (Date.now() - opened > 2000) {
          ended = "closed";
          wait = FIRST_PAUSE_MS;
        }
      } else {
        const after = Number(response.headers.get("Retry-After"));
        if (after > 0) wait = Math.max(wait, after * 1000);
      }
    } catch (error) {
      if (error.name === "AbortError") break;
    }
    renewed = ended === "renewed";
    setConnected(false);
    if (ended === "over") break; // signed out: api.js takes the person to the sign-in page on their next request
    if (ended === "renewed" || ended === "closed") {
      await pause(SHORT_PAUSE_MS * (0.5 + Math.random()));
      continue;
    }
    // A failure: wait, longer each time (with some jitter so that many tabs do not come back at once).
    await pause(wait + Math.random() * wait * 0.2);
    wait = Math.min(wait * 2, LONGEST_PAUSE_MS);
  }
  running = false;
  setConnected(false);
}

export function startLive() {
  if (running) return;
  running = true;
  run();
}

export function stopLive() {
  running = false;
  controller?.abort();
}
