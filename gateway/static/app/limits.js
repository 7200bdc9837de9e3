// Monthly limit: the most credits a person may spend on SMS in a calendar month (the tenant's), what they
// used of it and what is left, and setting it or taking it off. Masters and credit managers set limits;
// the API checks again, and its refusal is shown in words.

import { getJson, putJson } from "./api.js";
import { $, busy, clearErrors, credits, dateOnly, focusFirstError, generalMessage, plural, show, showError,
  wholeNumber } from "./ui.js";

const LARGEST = 10_000_000;
const OUT_OF_RANGE = `Enter a whole number of credits from 1 to ${credits(LARGEST)}, or choose No limit.`;

// Who may set limits: masters, and users who manage credits (for everyone in their organisation).
export const maySetLimits = (me) => me.role === "master" || Boolean(me.manage_credits);

// "Used this month: 120 of 500 credits · 380 left · resets on 1 Jan 2027", or without a limit
// "Used this month: 120 credits · no monthly limit".
export function usageText(view) {
  if (view.monthly_credit_limit === null) {
    return `Used this month: ${plural(view.used_this_month, "credit")} · no monthly limit`;
  }
  return `Used this month: ${credits(view.used_this_month)} of ${plural(view.monthly_credit_limit, "credit")}`
    + ` · ${credits(view.remaining)} left · resets on ${dateOnly(view.resets_at)}`;
}

export function limitPanel(state, { showPanel, unavailable }) {
  const form = $("#panel-limit");
  const amount = $("#limit-amount");
  const submit = $("#limit-submit");
  let shown = null; // the account on screen: an answer for one opened before it is dropped

  const chosen = () => form.elements.kind.value;
  function choose(kind) {
    form.elements.kind.value = kind;
    $("#limit-amount-field").hidden = kind !== "set";
  }
  for (const radio of form.elements.kind) radio.addEventListener("change", () => choose(chosen()));

  function render(view) {
    show($("#limit-usage"), usageText(view));
    choose(view.monthly_credit_limit === null ? "none" : "set");
    amount.value = view.monthly_credit_limit === null ? "" : String(view.monthly_credit_limit);
    $("#limit-fields").hidden = false;
    submit.hidden = false;
  }

  function explain(problem, account) {
    if (problem.slug === "limit-invalid" || problem.errors.some((e) => e.field === "monthly_credit_limit")) {
      return ["monthly_credit_limit", OUT_OF_RANGE];
    }
    if (problem.status === 403) return ["form", `You are not allowed to set the monthly limit of ${account.name}.`];
    if (problem.status === 404) return ["form", `${account.name} is no longer in your organisation.`];
    return ["form", generalMessage(problem, "Saving again is safe.")];
  }

  async function load(account) {
    show($("#limit-status"), "");
    show($("#limit-error"), "");
    show($("#limit-usage"), "Loading…");
    $("#limit-fields").hidden = true;
    submit.hidden = true;
    let view;
    try {
      view = await getJson(`/users/${encodeURIComponent(account.owner.id)}/limits`);
    } catch (problem) {
      if (shown !== account.id) return;
      show($("#limit-usage"), "");
      show($("#limit-error"), `The monthly limit of ${account.name} could not be loaded: ${problem.message}`);
      return;
    }
    if (shown === account.id) render(view);
  }

  async function save(account) {
    clearErrors(form);
    show($("#limit-status"), "");
    let limit = null;
    if (chosen() === "set") {
      limit = wholeNumber(amount.value);
      if (limit === null || limit < 1 || limit > LARGEST) {
        showError(form, "monthly_credit_limit", OUT_OF_RANGE);
        focusFirstError(form);
        return;
      }
    }
    busy(submit, true);
    try {
      const view = await putJson(`/users/${encodeURIComponent(account.owner.id)}/limits`,
        { monthly_credit_limit: limit });
      if (shown !== account.id) return;
      render(view);
      show($("#limit-status"), view.monthly_credit_limit === null
        ? `Saved: ${account.name} has no monthly limit.`
        : `Saved: ${account.name} may spend up to ${plural(view.monthly_credit_limit, "credit")} a month.`);
      $("#limit-status").focus();
    } catch (problem) {
      const [field, message] = explain(problem, account);
      showError(form, field, message);
      focusFirstError(form);
    } finally {
      busy(submit, false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const account = state.accounts.find((a) => a.id === shown);
    if (account) save(account);
  });

  return {
    async open(accountId) {
      const account = state.accounts.find((a) => a.id === accountId);
      if (!account || account.kind !== "user" || !account.owner || !maySetLimits(state.me)) {
        unavailable("That account's monthly limit is not one you can set, or the account no longer exists.");
        return;
      }
      shown = account.id;
      clearErrors(form);
      $("#limit-account").textContent = account.name;
      showPanel("limit", $("#limit-title"));
      await load(account);
    },
  };
}
