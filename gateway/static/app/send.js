// Send SMS: recipients, the message with a live segment and credit counter (counted by the API, exactly
// as the carrier will), then each recipient's status as the carrier's answers and receipts come in.

import { Attempt, getJson, postJson } from "./api.js";
import { live, onLive } from "./live.js";
import { $, busy, clearErrors, credits, dateOnly, el, focusFirstError, generalMessage, plural, show, showError } from "./ui.js";

const COUNT_DELAY_MS = 150;
const POLL_MS = 1000;
// With the live stream the settlement arrives by itself; delivery receipts do not, so the status is
// still read now and then.
const LIVE_POLL_MS = 5000;
const POLLS = 60;
const STATUS = { queued: "Queued", submitted: "Sent, awaiting delivery", delivered: "Delivered", failed: "Not delivered" };
const ENCODING = { gsm7: "GSM 7-bit", ucs2: "Unicode (UCS-2)" };
// A recipient's delivery, from the carrier's receipt; a message that does not arrive gives its credits back.
const DELIVERY = {
  pending: "On its way", delivered: "Delivered", undeliverable: "Undeliverable",
  expired: "No delivery receipt in time", rejected: "Rejected by the carrier",
};
const COUNTRY = (() => {
  try { return new Intl.DisplayNames(["en-AU"], { type: "region" }); } catch { return null; }
})();

// "Australia: 1 credit a segment · New Zealand: 2 credits a segment", shown when a message goes abroad.
export function destinationCosts(destinations) {
  if (!destinations?.length || destinations.every((d) => d.credits_per_segment === 1)) return "";
  return destinations.map((d) => `${COUNTRY?.of(d.region) ?? d.region}: ${plural(d.credits_per_segment, "credit")} a segment`
    + ` × ${plural(d.recipients, "recipient")}`).join(" · ");
}

// "+61 412 345 678, +61 400 000 000\n…" -> the distinct numbers typed, as typed.
export function numbersIn(text) {
  return [...new Set(text.split(/[\n,;]+/).map((n) => n.trim()).filter(Boolean))];
}

// A number the carrier can be given: international form (+, country code, 8 to 15 digits), or an
// Australian mobile written the national way (04xx xxx xxx), which is what an office here types and
// is sent as +614xx xxx xxx. The API checks each number exactly; this only keeps the counter honest.
export function international(number) {
  const compact = number.replace(/[\s().-]/g, "");
  if (/^04\d{8}$/.test(compact)) return `+61${compact.slice(1)}`;
  return /^\+[1-9]\d{7,14}$/.test(compact) ? compact : null;
}

// The typed numbers, split into those that can be sent (in international form, once each) and the rest.
export function recipientsIn(text) {
  const valid = [];
  const invalid = [];
  for (const typed of numbersIn(text)) {
    const number = international(typed);
    if (number === null) invalid.push(typed);
    else if (!valid.includes(number)) valid.push(number);
  }
  return { valid, invalid };
}

export function sendView({ me }) {
  const form = $("#send-form");
  const to = $("#send-to");
  const body = $("#send-body");
  const counter = $("#send-counter");
  const submit = $("#send-submit");
  const attempt = new Attempt();
  let counting = null;
  let timer = null;
  let polling = null;

  async function count() {
    counting?.abort();
    counting = new AbortController();
    const { valid, invalid } = recipientsIn(to.value);
    const recipients = valid.length;
    try {
      const c = await postJson("/messages/preview", { body: body.value, recipients, to: valid },
        { signal: counting.signal });
      const abroad = destinationCosts(c.destinations);
      const left = c.segments ? ` (${c.remaining} left)` : "";
      const over = c.segments > c.max_segments;
      counter.replaceChildren(
        `${credits(c.characters)} characters · ${ENCODING[c.encoding]} · `,
        el("span", { className: over ? "over" : null, "data-segments": c.segments,
          text: `${plural(c.segments, "segment")}${left}` }),
        " · ", el("span", { "data-recipients": recipients, text: plural(recipients, "recipient") }),
        invalid.length ? el("span", { className: "over", "data-invalid": invalid.length,
          text: ` (${invalid.length} ${invalid.length === 1 ? "number is" : "numbers are"} not valid: ${invalid.join(", ")})` }) : "",
        " · ",
        el("strong", { "data-credits": c.credits, text: plural(c.credits, "credit") }),
        abroad ? el("span", { className: "destinations", "data-destinations": c.destinations.length,
          text: ` (${abroad})` }) : "",
        over ? el("span", { className: "over", text: ` · at most ${c.max_segments} segments` }) : "");
    } catch (problem) {
      if (problem.name !== "AbortError") counter.textContent = "";
    }
  }

  function recount() {
    clearTimeout(timer);
    timer = setTimeout(count, COUNT_DELAY_MS);
  }

  async function sendingFrom() {
    const individual = me.tenant?.credit_mode === "individual";
    let text = individual ? "From your User Credits" : "From System Credits (shared by everyone in your organisation)";
    try {
      const accounts = await getJson("/accounts");
      const own = accounts.find((a) => (individual ? a.owner?.id === me.id : a.kind === "system"));
      if (own) text += ` · ${credits(own.available)} available`;
    } catch { /* the balance is a courtesy: sending works without it */ }
    show($("#send-from"), text);
  }

  function explain(problem) {
    if (problem.slug === "monthly-limit-reached") return ["form", overLimit(problem)];
    const fieldError = problem.errors.find((e) => e.field === "body" || e.field.startsWith("to"));
    if (fieldError) return [fieldError.field.startsWith("to") ? "to" : "body", problem.errors.map((e) => e.message).join(" ")];
    if (problem.slug === "insufficient-credits") {
      const has = /has (\d+) credits available; (\d+) are needed/.exec(problem.detail);
      return ["form", has ? `Not enough credits: ${credits(Number(has[1]))} available, this message needs ${credits(Number(has[2]))}.`
        : `Not enough credits. ${problem.detail}`];
    }
    return ["form", generalMessage(problem, "Pressing Send again is safe: it will not send twice.")];
  }

  // Over the sender's own monthly limit: the refusal's figures, said to the person it is about (its detail
  // names them in the third person, for whoever reads the API's answer).
  function overLimit(problem) {
    const figures = problem.errors.find((e) => e.monthly_credit_limit !== undefined && e.needed !== undefined);
    if (!figures) return problem.detail || "This message would go over your monthly credit limit.";
    const { remaining, needed, monthly_credit_limit: limit } = figures;
    const left = remaining > 0 ? `only ${credits(remaining)} of your ${plural(limit, "credit")} a month ${remaining === 1 ? "is" : "are"} left`
      : `none of your ${plural(limit, "credit")} a month is left`;
    const raise = me.role === "master" ? "raise your limit under Manage SMS Credits" : "ask a master user to raise your limit";
    return `Over your monthly limit: this message needs ${plural(needed, "credit")} and ${left}. `
      + `Send a shorter message or to fewer numbers, or ${raise}.`;
  }

  // When the month (and so the limit) starts afresh: a courtesy, so a failure to read it says nothing.
  async function limitResets() {
    try {
      const view = await getJson(`/users/${encodeURIComponent(me.id)}/limits`);
      return ` Your limit starts afresh on ${dateOnly(view.resets_at)}.`;
    } catch {
      return "";
    }
  }

  function renderMessage(message) {
    const statusText = STATUS[message.status];
    const spent = message.captured_credits === null ? `${plural(message.credits, "credit")} reserved`
      : `${credits(message.captured_credits)} of ${plural(message.credits, "credit")} spent`;
    show($("#send-summary"), `${statusText} · ${plural(message.segments, "segment")} · ${spent}`);
    $("#send-summary").dataset.status = message.status;
    $("#send-recipients").replaceChildren(...message.recipients.map((r) => el("tr", {},
      el("td", { "data-label": "To", text: r.to }),
      el("td", { "data-label": "Status", "data-status": r.status, text: STATUS[r.status] }),
      el("td", { "data-label": "Delivery", "data-delivery": r.delivery ?? "pending", text: DELIVERY[r.delivery ?? "pending"] }),
      el("td", { "data-label": "Credits", "data-credits-returned": r.credits_returned ?? 0,
        text: r.credits_returned ? `${credits(r.credits)} · ${plural(r.credits_returned, "credit")} given back`
          : r.credits === undefined ? "\u2014" : credits(r.credits) }))));
  }

  // The message on screen, and how to wake its follower when the stream says it settled.
  let following = null;
  let wake = null;
  let lookAgain = false;
  let active = false;
  onLive("message", (settled) => {
    if (settled.message_id !== following || $("#send-result").hidden) return;
    sendingFrom(); // the balance after what was spent
    if (!active) follow(settled.message_id); // it had stopped looking
    else if (wake) wake(); // waiting between two reads: read now
    else lookAgain = true; // reading: that answer may predate the settlement, so read once more
  });

  async function follow(id) {
    active = true;
    try {
      await followRounds(id);
    } finally {
      active = following === id ? false : active;
    }
  }

  async function followRounds(id) {
    clearTimeout(polling);
    following = id;
    for (let i = 0; i < POLLS && following === id; i += 1) {
      let message;
      lookAgain = false;
      try {
        message = await getJson(`/messages/${id}`);
      } catch {
        message = null; // a hiccup: try again on the next round
      }
      if (following !== id) return;
      if (message) {
        renderMessage(message);
        if (message.status === "delivered" || message.status === "failed") {
          sendingFrom(); // the balance after what was spent
          return;
        }
      }
      if (lookAgain) continue;
      await new Promise((resolve) => {
        wake = resolve;
        polling = setTimeout(resolve, live.connected ? LIVE_POLL_MS : POLL_MS);
      });
      wake = null;
      clearTimeout(polling);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { valid: numbers, invalid } = recipientsIn(to.value);
    if (invalid.length) {
      showError(form, "to", `${invalid.length === 1 ? "This number is" : "These numbers are"} not valid: ${invalid.join(", ")}. `
        + "Write each in international form, such as +61 412 345 678.");
    } else if (!numbers.length) showError(form, "to", "Enter at least one mobile number, such as +61 412 345 678.");
    if (!body.value.trim()) showError(form, "body", "Write a message.");
    if (invalid.length || !numbers.length || !body.value.trim()) {
      focusFirstError(form);
      return;
    }
    const request = { to: numbers, body: body.value };
    busy(submit, true);
    try {
      const sent = await postJson("/messages", request, { headers: { "Idempotency-Key": attempt.keyFor(request) } });
      attempt.reset();
      form.hidden = true;
      show($("#send-result"));
      renderMessage({ ...sent, recipients: numbers.map((n) => ({ to: n, status: "queued" })), captured_credits: null });
      $("#send-result-title").focus();
      document.dispatchEvent(new CustomEvent("credits-changed"));
      follow(sent.id);
    } catch (problem) {
      if (problem.status >= 400 && problem.status < 500 && problem.status !== 429) attempt.reset();
      const [field, message] = explain(problem);
      const resets = problem.slug === "monthly-limit-reached" ? await limitResets() : "";
      showError(form, field, message + resets);
      focusFirstError(form);
    } finally {
      busy(submit, false);
    }
  });
  to.addEventListener("input", recount);
  body.addEventListener("input", recount);
  $("#send-another").addEventListener("click", () => {
    following = null;
    wake?.(); // the follower sees it is no longer wanted and stops
    form.reset();
    attempt.reset();
    $("#send-result").hidden = true;
    form.hidden = false;
    count();
    sendingFrom();
    to.focus();
  });

  return {
    async enter() {
      clearErrors(form);
      const allowed = me.send_sms && me.tenant;
      show($("#send-notice"), allowed ? "" : "You are not allowed to send SMS. Ask a master user of your organisation.");
      form.hidden = !allowed;
      $("#send-result").hidden = true;
      if (!allowed) return;
      await Promise.all([count(), sendingFrom()]);
    },
    leave() {
      following = null;
      wake?.();
      clearTimeout(timer);
    },
  };
}
