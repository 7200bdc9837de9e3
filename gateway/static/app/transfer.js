// Transfer SMS Credits, from or to an account: both ends, the quantity, the conditions and their tick.

import { Attempt, postJson, session } from "./api.js";
import { $, busy, clearErrors, credits, el, focusFirstError, generalMessage, plural, show, showError, wholeNumber } from "./ui.js";

const TERMS = "Tick “I agree to the conditions” to transfer credits.";

export function transferForm(state, { showPanel, unavailable, transferred }) {
  const form = $("#panel-transfer");
  const from = $("#transfer-from");
  const to = $("#transfer-to");
  const quantity = $("#transfer-quantity");
  const terms = $("#transfer-terms");
  const note = $("#transfer-note");
  const submit = $("#transfer-submit");
  const attempt = new Attempt();

  const individual = () => state.me.tenant?.credit_mode === "individual";
  // Whoever manages an account may move credits out of it (the API lists exactly those).
  const sources = () => (individual() ? state.accounts : []);
  // System Credits (listed only to masters) and the people the API says a transfer may name.
  const targets = () => {
    if (!individual()) return [];
    const system = state.accounts.filter((a) => a.kind === "system").map((a) => ({ id: a.id, name: a.name }));
    const people = state.users.filter((u) => u.account_id).map((u) => ({ id: u.account_id, name: u.name }));
    return [...system, ...people];
  };
  const nameOf = (id) => [...sources(), ...targets()].find((a) => a.id === id)?.name || "the account";

  function fill(select, accounts, placeholder, chosen) {
    select.replaceChildren(el("option", { value: "", text: placeholder }));
    for (const account of accounts) {
      const available = account.available === undefined ? "" : ` (${credits(account.available)} available)`;
      select.append(el("option", { value: account.id, text: account.name + available }));
    }
    select.value = accounts.some((a) => a.id === chosen) ? chosen : "";
    if (!select.value && accounts.length === 1) select.value = accounts[0].id;
  }

  function explain(problem) {
    const detail = problem.detail;
    switch (problem.slug) {
      case "terms-not-accepted":
        return ["accept_terms", TERMS];
      case "insufficient-credits": {
        const has = /has (\d+) credits available/.exec(detail);
        return ["quantity", has
          ? `Not enough credits: ${nameOf(from.value)} has ${credits(Number(has[1]))} available.`
          : `Not enough credits. ${detail}`];
      }
      case "quantity-out-of-range":
        return ["quantity", detail || "Enter a whole number of credits."];
      case "same-account":
        return ["to_account", "Choose a different account: credits cannot go to the account they come from."];
      case "account-forbidden":
        return /from this account/i.test(detail)
          ? ["from_account", "You are not allowed to transfer credits from this account."]
          : ["to_account", "You are not allowed to transfer credits to this account."];
      case "recipient-cannot-receive":
        return ["to_account", detail];
      case "shared-mode":
        return ["form", "Transfers are not available: your organisation shares one pool of System Credits."];
      default:
        if (problem.errors.length) {
          const [first] = problem.errors;
          return [first.field, first.field === "quantity" ? "Enter a whole number of credits." : first.message];
        }
        return ["form", generalMessage(problem, "Pressing Transfer again is safe: it will not transfer twice.")];
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const amount = wholeNumber(quantity.value);
    if (!from.value) showError(form, "from_account", "Choose the account to transfer from.");
    if (!to.value) showError(form, "to_account", "Choose the account to transfer to.");
    if (amount === null) showError(form, "quantity", "Enter the number of credits, a whole number such as 200.");
    if (!from.value || !to.value || amount === null) {
      focusFirstError(form);
      return;
    }
    // The tick is sent as it is: the API refuses an unticked transfer and says why, next to the box.
    const body = { from_account: from.value, to_account: to.value, quantity: amount, accept_terms: terms.checked };
    if (note.value.trim()) body.note = note.value.trim();
    busy(submit, true);
    try {
      const answer = await postJson("/transfers", body, { headers: { "Idempotency-Key": attempt.keyFor(body) } });
      attempt.reset();
      session.rememberWrite(answer.consistency_token);
      const message = `Transferred ${plural(amount, "credit")} from ${nameOf(body.from_account)} to ${nameOf(body.to_account)}.`;
      form.reset();
      document.dispatchEvent(new CustomEvent("credits-changed"));
      await transferred(message);
    } catch (problem) {
      if (problem.status >= 400 && problem.status < 500 && problem.status !== 429) attempt.reset();
      const [field, message] = explain(problem);
      showError(form, field, message);
      focusFirstError(form);
    } finally {
      busy(submit, false);
    }
  });

  return {
    sourcesExcept: (id) => sources().filter((a) => a.id !== id),
    targetsExcept: (id) => targets().filter((a) => a.id !== id),
    canReceive: (id) => !individual() ? state.accounts.some((a) => a.id === id && a.kind === "system")
      : targets().some((a) => a.id === id),
    open(options = {}) {
      if (!individual()) {
        unavailable("Transfers are not available: your organisation shares one pool of System Credits.");
        return;
      }
      form.reset();
      clearErrors(form);
      attempt.reset();
      fill(from, sources().filter((a) => a.id !== options.to), "Choose the account to transfer from", options.from);
      fill(to, targets().filter((a) => a.id !== options.from), "Choose the account to transfer to", options.to);
      show($("#transfer-title"), options.to && !options.from
        ? "Transfer SMS Credits To this Account" : "Transfer SMS Credits From this Account");
      showPanel("transfer", [from, to].find((select) => !select.value) || quantity);
    },
  };
}
