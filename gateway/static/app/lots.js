// Credits by expiry: an account's credits by lot (the purchase or promotional grant they came from), in the
// order they are spent, each with what is left of it and when it lapses.

import { getJson } from "./api.js";
import { $, credits, dateTime, el, plural, show } from "./ui.js";

const ORIGINS = {
  purchase: "Purchase",
  grant: "Promotional grant",
  compensation: "Credits given back",
  opening: "Credits held before expiry dates",
};

// "25 credits expiring within 30 days", or nothing when none are: shown under an account in the list.
export function expiringText(account) {
  const expiring = account.expiring_within_30_days || 0;
  return expiring > 0 ? `${plural(expiring, "credit")} expiring within 30 days` : "";
}

export function lotsPanel(state, { showPanel, unavailable }) {
  const body = $("#lots-body");
  let shown = null; // the account on screen: an answer for one opened before it is dropped

  function lotRow(lot) {
    const promotional = lot.paid ? null : el("span", { className: "badge", "data-promotional": "", text: "Promotional" });
    const reserved = lot.reserved > 0
      ? el("span", { className: "lot-reserved", text: `${credits(lot.reserved)} reserved for sending` }) : null;
    const expires = lot.expires_at
      ? el("time", { datetime: lot.expires_at, text: dateTime(lot.expires_at) })
      : el("span", { className: "muted", text: "Never expires" });
    return el("tr", { "data-lot-id": lot.id, "data-origin": lot.origin },
      el("th", { scope: "row", "data-label": "From", className: "lot-origin" },
        ORIGINS[lot.origin] || lot.origin, promotional ? " " : null, promotional),
      el("td", { "data-label": "Added", "data-field": "added", text: dateTime(lot.granted_at) }),
      el("td", { "data-label": "Remaining", className: "num", "data-field": "remaining" },
        el("span", { text: credits(lot.remaining) }), reserved),
      el("td", { "data-label": "Expires", "data-field": "expires" }, expires));
  }

  function summary(account, lots) {
    const total = lots.reduce((sum, lot) => sum + lot.remaining, 0);
    const parts = [`${plural(total, "credit")} in ${plural(lots.length, "lot")}`];
    const expiring = expiringText(account);
    if (expiring) parts.push(expiring);
    return `${parts.join("; ")}.`;
  }

  async function load(account) {
    body.replaceChildren();
    show($("#lots-summary"), "Loading…");
    show($("#lots-error"), "");
    $("#lots-table").hidden = true;
    let lots;
    try {
      lots = await getJson(`/accounts/${encodeURIComponent(account.id)}/lots`);
    } catch (problem) {
      if (shown !== account.id) return;
      show($("#lots-summary"), "");
      show($("#lots-error"), `The credits of ${account.name} could not be loaded: ${problem.message}`);
      return;
    }
    if (shown !== account.id) return;
    const held = lots.filter((lot) => lot.remaining > 0);
    show($("#lots-summary"), held.length ? summary(account, held) : `${account.name} has no credits.`);
    body.replaceChildren(...held.map(lotRow));
    $("#lots-table").hidden = !held.length;
  }

  return {
    async open(accountId) {
      const account = state.accounts.find((a) => a.id === accountId);
      if (!account) {
        unavailable("That account is not one you manage, or it no longer exists.");
        return;
      }
      shown = account.id;
      $("#lots-account").textContent = account.name;
      $("#lots-caption").textContent = `Credits of ${account.name}, in the order they are spent`;
      showPanel("lots", $("#lots-title"));
      await load(account);
    },
  };
}
