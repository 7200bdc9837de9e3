// The operators' page of credit mode requests (/admin/credit-mode-requests): the pending ones, each with
// a note and Approve / Reject, and the ones decided lately. Signed out, it sends the person to sign in
// and back here.

import { Attempt, getJson, postJson, session, whenSignedOut } from "./api.js";
import { $, busy, clearErrors, dateTime, el, show, showError } from "./ui.js";

const HERE = "/admin/credit-mode-requests";
const MODES = { shared: "Shared System Credits", individual: "Individual User SMS Credits" };

function signIn() {
  window.location.assign(`/signin?${new URLSearchParams({ next: HERE })}`);
}

async function start() {
  if (!session.signedIn) {
    signIn();
    return;
  }
  whenSignedOut(signIn);
  let me;
  try {
    me = await getJson("/me");
  } catch (problem) {
    if (problem.status !== 401) fail(problem);
    return;
  }
  if (me.role !== "operator") {
    $("#requests-loading").hidden = true;
    show($("#requests-error"), "This page is for platform operators.");
    return;
  }
  await load();
}

function fail(problem) {
  $("#requests-loading").hidden = true;
  show($("#requests-error"), `The requests could not be loaded: ${problem.message} Reload the page to try again.`);
}

async function load() {
  let pending;
  let all;
  try {
    [pending, all] = await Promise.all([
      getJson("/credit-mode-requests?status=pending&limit=200"),
      getJson("/credit-mode-requests?limit=50"),
    ]);
  } catch (problem) {
    fail(problem);
    return;
  }
  $("#requests-loading").hidden = true;
  $("#pending-section").hidden = false;
  $("#pending-empty").hidden = pending.length > 0;
  $("#pending-list").replaceChildren(...pending.map(pendingCard));
  const decided = all.filter((r) => r.status !== "pending");
  $("#decided-section").hidden = decided.length === 0;
  $("#decided-body").replaceChildren(...decided.map(decidedRow));
}

function pendingCard(request) {
  const noteId = `note-${request.id}`;
  const errorId = `note-error-${request.id}`;
  const titleId = `request-${request.id}`;
  const form = el("form", { className: "card request", "aria-labelledby": titleId, "data-request-id": request.id, novalidate: true },
    el("h3", { id: titleId, text: `${request.tenant_name}: switch to ${MODES[request.mode]}` }),
    el("p", { className: "muted", text: `Asked by ${request.requested_by.name} on ${dateTime(request.requested_at)}; `
      + `now on ${MODES[request.previous_mode]}.` }),
    el("p", {}, el("strong", { text: "Reason: " }), document.createTextNode(request.reason)),
    request.last_error ? el("p", { className: "error", "data-field": "last-error",
      text: `Could not be approved on ${dateTime(request.last_attempt_at)}: ${request.last_error}` }) : null,
    el("label", { for: noteId, text: "Note to the master (required to reject)" }),
    el("textarea", { id: noteId, name: "note", rows: "2", maxlength: "500", "aria-describedby": errorId }),
    el("p", { className: "error", id: errorId, "data-error-for": "note", hidden: true }),
    el("p", { className: "error", "data-error-for": "form", role: "alert", hidden: true }),
    el("div", { className: "actions" },
      el("button", { type: "submit", "data-decision": "approve", text: "Approve" }),
      el("button", { type: "submit", className: "secondary", "data-decision": "reject", text: "Reject" })));
  const attempt = new Attempt();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide(form, request, event.submitter?.dataset.decision || "approve", attempt);
  });
  return form;
}

async function decide(form, request, decision, attempt) {
  clearErrors(form);
  const note = form.elements.note.value.trim();
  if (decision === "reject" && !note) {
    showError(form, "note", "Write a note: the master is told why their request was rejected.").focus?.();
    return;
  }
  const body = note ? { note } : {};
  const buttons = Array.from(form.querySelectorAll("button"));
  for (const button of buttons) busy(button, true);
  try {
    const decided = await postJson(`/admin/credit-mode-requests/${encodeURIComponent(request.id)}/${decision}`, body,
      { headers: { "Idempotency-Key": attempt.keyFor({ decision, ...body }) } });
    const outcome = decided.status === "approved" ? `approved: it now uses ${MODES[decided.mode]}` : "rejected";
    show($("#requests-status"), `${decided.tenant_name}'s request was ${outcome}. The master is told by email.`);
    await load();
    $("#requests-status").focus();
  } catch (problem) {
    for (const button of buttons) busy(button, false);
    attempt.reset();
    if (problem.slug === "open-holds") {
      // The request stays pending; the reload shows why on its card.
      await load();
      const card = document.querySelector(`form[data-request-id="${CSS.escape(request.id)}"]`);
      if (card) showError(card, "form", `Not switched: ${problem.detail} Approve again once they are done.`);
      return;
    }
    showError(form, "form", problem.status === 409 && problem.slug === "credit-mode-request-decided"
      ? "Another operator has already decided this request. Reload the page to see it."
      : problem.message);
  }
}

function decidedRow(request) {
  const decision = `${request.status === "approved" ? "Approved" : "Rejected"} by ${request.decided_by?.name || "?"}`
    + ` on ${dateTime(request.decided_at)}`;
  return el("tr", {},
    el("td", { "data-label": "Organisation", text: request.tenant_name }),
    el("td", { "data-label": "Asked", text: `${request.requested_by.name}, ${dateTime(request.requested_at)}: ${request.reason}` }),
    el("td", { "data-label": "Switch to", text: MODES[request.mode] }),
    el("td", { "data-label": "Decision", text: decision }),
    el("td", { "data-label": "Note", text: request.note || "" }));
}

start();
