// Purchase SMS Credits: for System Credits or a user's credits, a quantity priced as it is typed, the
// billing details for the tax invoice, then off to the payment screen.

import { Attempt, getJson, postJson, query } from "./api.js";
import { $, busy, clearErrors, el, focusFirstError, generalMessage, money, show, showError, wholeNumber } from "./ui.js";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const QUOTE_DELAY_MS = 250;
const FRIENDLY = {
  "billing.name": "Enter the name for the tax invoice.",
  "billing.email": "Enter an email address such as name@example.com.",
  quantity: "Enter the number of credits, a whole number such as 1000.",
};

export function purchaseForm(state, { showPanel, unavailable }) {
  const form = $("#panel-purchase");
  const systemChoice = $("#purchase-kind-system");
  const userChoice = $("#purchase-kind-user");
  const user = $("#purchase-user");
  const quantity = $("#purchase-quantity");
  const quote = $("#purchase-quote");
  const submit = $("#purchase-submit");
  const field = (name) => form.elements.namedItem(name);
  const attempt = new Attempt();
  let pricing = null; // the quote being fetched, so that a newer one can cancel it
  let timer = null;

  const systemAccount = () => state.accounts.find((a) => a.kind === "system");
  const buyable = () => state.users.filter((u) => u.account_id);

  function chosenAccount() {
    if (systemChoice.checked) return systemAccount()?.id || "";
    return userChoice.checked ? user.value : "";
  }

  function syncKind() {
    $("#purchase-user-field").hidden = !userChoice.checked;
  }

  async function price() {
    clearTimeout(timer);
    pricing?.abort();
    const amount = wholeNumber(quantity.value);
    show($("#purchase-quantity-error"), "");
    quote.replaceChildren();
    if (!quantity.value.trim()) return;
    if (amount === null) {
      show($("#purchase-quantity-error"), FRIENDLY.quantity);
      return;
    }
    pricing = new AbortController();
    try {
      const answer = await getJson(`/quotes${query({ quantity: amount })}`, { signal: pricing.signal });
      quote.replaceChildren(quoteList(answer));
    } catch (problem) {
      if (problem.name === "AbortError") return;
      show($("#purchase-quantity-error"), problem.errors.find((e) => e.field === "quantity")?.message
        || generalMessage(problem));
    }
  }

  function quoteList(q) {
    const rate = `${Math.round(Number(q.tax_rate) * 100)}%`;
    const line = (term, value, className) => [el("dt", { className, text: term }), el("dd", { className, text: value })];
    return el("dl", {},
      ...line("Unit price", `${money(q.currency, q.unit_price)} per credit`),
      ...line("Subtotal", money(q.currency, q.subtotal)),
      ...line(`${q.tax_name} (${rate})`, money(q.currency, q.tax)),
      ...line("Total", money(q.currency, q.total), "total-line"));
  }

  function validate(body) {
    if (!body.account_id) showError(form, "account_id", "Choose whose credits to buy.");
    if (body.quantity === null) showError(form, "quantity", FRIENDLY.quantity);
    if (!body.billing.name) showError(form, "billing.name", FRIENDLY["billing.name"]);
    if (!EMAIL.test(body.billing.email)) showError(form, "billing.email", FRIENDLY["billing.email"]);
    return Boolean(body.account_id && body.quantity !== null && body.billing.name && EMAIL.test(body.billing.email));
  }

  function explain(problem) {
    if (problem.slug === "account-forbidden") return [["account_id", "You are not allowed to buy credits for this account."]];
    if (problem.slug === "recipient-cannot-receive") return [["account_id", problem.detail]];
    if (problem.errors.length) {
      return problem.errors.map((e) => [e.field, problem.status === 400 ? FRIENDLY[e.field] || e.message : e.message]);
    }
    return [["form", generalMessage(problem, "Pressing Proceed again is safe: it will not start a second purchase.")]];
  }

  quantity.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(price, QUOTE_DELAY_MS);
  });
  systemChoice.addEventListener("change", syncKind);
  userChoice.addEventListener("change", syncKind);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const optional = (name) => field(name).value.trim() || null;
    const body = {
      account_id: chosenAccount(),
      quantity: wholeNumber(quantity.value),
      billing: {
        name: field("name").value.trim(), email: field("email").value.trim(),
        company: optional("company"), tax_id: optional("tax_id"), address: optional("address"),
      },
    };
    if (!validate(body)) {
      focusFirstError(form);
      return;
    }
    busy(submit, true);
    try {
      const created = await postJson("/purchases", body, { headers: { "Idempotency-Key": attempt.keyFor(body) } });
      // The hosted payment screen; it comes back to the confirmation page once paid.
      window.location.assign(created.checkout_url);
    } catch (problem) {
      busy(submit, false);
      if (problem.status >= 400 && problem.status < 500 && problem.status !== 429) attempt.reset();
      for (const [name, message] of explain(problem)) showError(form, name, message);
      focusFirstError(form);
    }
  });

  return {
    open(accountId) {
      const system = systemAccount();
      const people = buyable();
      if (!system && !people.length) {
        unavailable("There is no account you can buy credits for.");
        return;
      }
      form.reset();
      clearErrors(form);
      quote.replaceChildren();
      attempt.reset();
      busy(submit, false);
      $("#purchase-system-choice").hidden = !system;
      $("#purchase-user-choice").hidden = !people.length;
      user.replaceChildren(...people.map((p) => el("option", { value: p.account_id, text: p.name })));
      const mine = people.find((p) => p.id === state.me.id);
      const named = people.find((p) => p.account_id === accountId);
      user.value = (named || mine || people[0])?.account_id || "";
      systemChoice.checked = Boolean(system) && (accountId === system.id || !people.length);
      userChoice.checked = !systemChoice.checked;
      field("name").value = state.me.name;
      field("email").value = state.me.email;
      syncKind();
      showPanel("purchase", quantity);
    },
  };
}
