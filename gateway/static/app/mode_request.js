// The credit mode in the Manage SMS Credits box: which one the organisation uses and, for a master,
// asking an operator to switch between individual User SMS Credits and shared System Credits (with a
// reason), then the request's state: waiting for a decision, or how it was decided.

import { Attempt, getJson, postJson } from "./api.js";
import { $, busy, clearErrors, dateTime, el, generalMessage, show, showError } from "./ui.js";

const MODES = { shared: "Shared System Credits", individual: "Individual User SMS Credits" };
const other = (mode) => (mode === "shared" ? "individual" : "shared");

export function modeRequestSection(state) {
  const section = el("section", { className: "mode-request", id: "mode-request", "aria-labelledby": "mode-request-title" });
  $("#panel-accounts").append(section);
  const attempt = new Attempt();
  let latest = null;
  let asking = false;
  let loadFailed = false;

  async function refresh() {
    const isMaster = state.me.role === "master" && state.me.tenant;
    section.hidden = !isMaster;
    if (!isMaster) return;
    try {
      [latest] = await getJson("/credit-mode-requests?limit=1");
      loadFailed = false;
    } catch {
      latest = null;
      loadFailed = true;
    }
    render();
  }

  function render(focusStatus = false) {
    const mode = state.me.tenant.credit_mode;
    const status = el("p", { className: "notice", id: "mode-request-status", role: "status", tabindex: "-1" });
    const parts = [
      el("h3", { id: "mode-request-title", text: "Credit mode" }),
      el("p", { id: "mode-request-current", text: `Your organisation uses ${MODES[mode]}.` }),
      status,
    ];
    const pending = latest?.status === "pending";
    if (pending) {
      status.textContent = `Your request to switch to ${MODES[latest.mode]} (sent ${dateTime(latest.requested_at)}) `
        + "is waiting for a platform operator's decision. You will get an email when it is decided.";
      if (latest.last_error) parts.push(el("p", { className: "muted", text: `Not switched yet: ${latest.last_error}` }));
    } else if (latest) {
      const decided = latest.status === "approved" ? "approved" : "not approved";
      status.textContent = `Your request to switch to ${MODES[latest.mode]} was ${decided} on ${dateTime(latest.decided_at)}.`
        + (latest.note ? ` Note: ${latest.note}` : "");
    } else if (loadFailed) {
      status.textContent = "Your credit mode requests could not be loaded just now.";
    }
    status.hidden = !status.textContent;
    if (!pending && !asking) {
      const ask = el("button", { type: "button", className: "secondary", id: "mode-request-ask",
        text: `Ask to switch to ${MODES[other(mode)]}` });
      ask.addEventListener("click", () => {
        asking = true;
        render();
        $("#mode-request-reason").focus();
      });
      parts.push(el("p", { className: "hint", text: "A platform operator approves the switch. Switching to shared "
        + "moves every person's credits into System Credits; switching to individual opens an account for each person." }), ask);
    }
    if (!pending && asking) parts.push(askForm(mode));
    section.replaceChildren(...parts);
    if (focusStatus) status.focus();
  }

  function askForm(mode) {
    const wanted = other(mode);
    const form = el("form", { id: "mode-request-form", "aria-labelledby": "mode-request-form-title", novalidate: true },
      el("h4", { id: "mode-request-form-title", text: `Ask to switch to ${MODES[wanted]}` }),
      el("label", { for: "mode-request-reason", text: "Reason (for the operator who decides)" }),
      el("textarea", { id: "mode-request-reason", name: "reason", rows: "3", maxlength: "500", required: true,
        "aria-describedby": "mode-request-reason-error" }),
      el("p", { className: "error", id: "mode-request-reason-error", "data-error-for": "reason", hidden: true }),
      el("p", { className: "error", "data-error-for": "form", role: "alert", hidden: true }),
      el("div", { className: "actions" },
        el("button", { type: "submit", id: "mode-request-send", text: "Send request" }),
        el("button", { type: "button", className: "secondary", id: "mode-request-cancel", text: "Cancel" })));
    form.querySelector("#mode-request-cancel").addEventListener("click", () => {
      asking = false;
      attempt.reset();
      render();
      $("#mode-request-ask")?.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const reason = form.elements.reason.value.trim();
      if (!reason) {
        showError(form, "reason", "Say why your organisation wants to switch: the operator reads it.").focus();
        return;
      }
      const body = { mode: wanted, reason };
      const button = $("#mode-request-send", form);
      busy(button, true);
      try {
        latest = await postJson("/credit-mode-requests", body, { headers: { "Idempotency-Key": attempt.keyFor(body) } });
        attempt.reset();
        asking = false;
        render(true);
      } catch (problem) {
        busy(button, false);
        if (problem.slug === "credit-mode-request-pending" || problem.slug === "credit-mode-unchanged") {
          // Someone else at the organisation asked first, or the mode changed: show where things stand.
          asking = false;
          await refresh();
          return;
        }
        const field = problem.errors.find((e) => e.field === "reason");
        showError(form, field ? "reason" : "form", field ? field.message : generalMessage(problem));
      }
    });
    return form;
  }

  return { refresh };
}
