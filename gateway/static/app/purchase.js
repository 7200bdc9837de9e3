// Purchase SMS Credits: for System Credits or a user's credits, a quantity priced as it is typed, the
// billing details for the tax invoice, then off to the payment screen.

import { Attempt, getJson, postJson, query } from "./api.js";
import { $, busy, clearErrors, el, focusFirstError, generalMessage, plural, show, showError, wholeNumber } from "./ui.js";

// An amount of money as the API gives it (a decimal string, exact) with thousands separators: "AUD 6,600.00".
// Grouped as text rather than through a float, so that no cent is ever rounded.
function money(currency, amount) {
  const [whole, fraction] = String(amount).split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const grouped = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${currency} ${sign}${grouped}${fraction === undefined ? "" : `.${fraction}`}`;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const QUOTE_DELAY_MS = 250;
const FRIENDLY = {
  "billing.name": "Enter the name for the tax invoice.",
  "billing.email": "Enter an email address such as name@example.com.",
  quantity: "Enter the number of credits, a whole number such as 1000.",
};

// What the tenant pays, said before anyone types: "Buy 100 to 1,000,000 credits. Per credit: AUD 0.0800;
// from 10,000: AUD 0.0700; ... GST 10% is added."
export function pricesText(prices) {
  const number = (n) => new Intl.NumberFormat("en-AU").format(n);
  const tiers = prices.tiers.map((t, i) => (i === 0 ? "" : `from ${number(t.min_quantity)}: `)
    + money(prices.currency, t.unit_price));
  const rate = `${(Number(prices.tax_rate) * 100).toLocaleString("en-AU", { maximumFractionDigits: 2 })}%`;
  return `Buy ${number(prices.min_quantity)} to ${number(prices.max_quantity)} credits. `
    + `Per credit: ${tiers.join("; ")}. ${prices.tax_name} ${rate} is added.`;
}

// How long the credits bought last, as the price list says: "Credits expire 12 months after purchase.";
// nothing where they never expire.
export function expiryText(months) {
  return months ? `Credits expire ${plural(months, "month")} after purchase.` : "";
}

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

  let onlyChoice = false; // one account to buy for: named in plain text, with no lone radio and no list

  function syncKind() {
    $("#purchase-user-field").hidden = !userChoice.checked || onlyChoice;
    describeChosenUser();
  }

  // Why these accounts are offered, in the words of the rule (common/permissions.py may_purchase_for):
  // masters buy for System Credits and anyone, credit managers for anyone, others for themselves and
  // their team.
  function whyListed() {
    const me = state.me;
    if (me.role === "master") {
      return me.tenant?.credit_mode === "individual"
        ? "As a master user you can buy System Credits, and credits for anyone in your organisation who may send SMS."
        : "Your organisation shares one pool, System Credits: as a master user you buy credits for it.";
    }
    if (me.manage_credits) return "You manage credits, so you can buy credits for anyone in your organisation who may send SMS.";
    if (me.team) return `You can buy credits for yourself and for people in your team (${me.team}).`;
    return "You can buy credits for yourself.";
  }

  // Whose account a choice is, and its available balance where the buyer may see it: their own account,
  // or everyone's for masters and credit managers (may_manage); the API shows no one else's balance.
  function accountWords(accountId, person) {
    const whose = !person ? "your organisation's shared pool"
      : person.id === state.me.id ? "your account" : `${person.name}'s account`;
    const available = state.accounts.find((a) => a.id === accountId)?.available ?? person?.available;
    return { whose, available: Number.isInteger(available) ? `${plural(available, "credit")} available` : null };
  }

  function describeChosenUser() {
    const person = buyable().find((p) => p.account_id === user.value);
    if (!person) return show($("#purchase-user-detail"), "");
    const { whose, available } = accountWords(person.account_id, person);
    show($("#purchase-user-detail"), available ? `${capitalised(whose)}: ${available}.`
      : `${capitalised(whose)}. Only ${person.name} and people who manage credits see its balance.`);
  }

  const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

  // With both System Credits and people to choose from, the radios choose between them; with only
  // people, the list alone; with one account in all, it is simply named.
  function labelChoices(system, people) {
    onlyChoice = (system ? 1 : 0) + people.length === 1;
    const both = Boolean(system) && people.length > 0;
    show($("#purchase-for-why"), whyListed());
    $("#purchase-for-legend").classList.toggle("visually-hidden", onlyChoice);
    $("#purchase-system-choice").hidden = !both;
    $("#purchase-user-choice").hidden = !both;
    const systemWords = system && accountWords(system.id, null);
    $("#purchase-system-balance").textContent = systemWords?.available ? `· ${systemWords.available}` : "";
    user.replaceChildren(...people.map((p) => {
      const { whose, available } = accountWords(p.account_id, p);
      return el("option", { value: p.account_id, text: `${p.name} (${[whose, available].filter(Boolean).join(" · ")})` });
    }));
    const single = $("#purchase-for-single");
    single.hidden = !onlyChoice;
    if (onlyChoice) {
      const { whose, available } = accountWords(system ? system.id : people[0].account_id, system ? null : people[0]);
      single.replaceChildren("Credits for: ", el("strong", { text: system ? "System Credits" : people[0].name }),
        ` (${[whose, available].filter(Boolean).join(" · ")})`);
    }
  }

  // Creating the purchase takes a moment before the payment screen opens: say so, not only grey out.
  function proceeding(isBusy) {
    busy(submit, isBusy);
    submit.textContent = isBusy ? "Opening checkout…" : "Proceed";
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
      const expiry = expiryText(answer.credit_validity_months);
      quote.replaceChildren(quoteList(answer), ...(expiry ? [el("p", { className: "hint", text: expiry })] : []));
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
  user.addEventListener("change", describeChosenUser);
  // Back from the payment screen may show this page as it was left (the back/forward cache): busy.
  window.addEventListener("pageshow", (event) => { if (event.persisted) proceeding(false); });

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
    proceeding(true);
    try {
      const created = await postJson("/purchases", body, { headers: { "Idempotency-Key": attempt.keyFor(body) } });
      // The hosted payment screen; it comes back to the confirmation page once paid, and its Cancel
      // returns to where the buyer started (the checkout accepts only a path of this site).
      const from = location.pathname + location.search + location.hash;
      const joiner = created.checkout_url.includes("?") ? "&" : "?";
      window.location.assign(created.checkout_url + joiner + "return=" + encodeURIComponent(from));
    } catch (problem) {
      proceeding(false);
      if (problem.status >= 400 && problem.status < 500 && problem.status !== 429) attempt.reset();
      // A refusal of the account shows beside the list, or on the form when there is no list to show it by.
      const listShown = !$("#purchase-user-field").hidden;
      for (const [name, message] of explain(problem)) {
        showError(form, name === "account_id" && !listShown ? "form" : name, message);
      }
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
      proceeding(false);
      labelChoices(system, people);
      const mine = people.find((p) => p.id === state.me.id);
      const named = people.find((p) => p.account_id === accountId);
      user.value = (named || mine || people[0])?.account_id || "";
      systemChoice.checked = Boolean(system) && (accountId === system.id || !people.length);
      userChoice.checked = !systemChoice.checked;
      field("name").value = state.me.name;
      field("email").value = state.me.email;
      syncKind();
      showPanel("purchase", quantity);
      getJson("/prices").then((prices) => show($("#purchase-prices"), pricesText(prices)), () => {});
    },
  };
}
