// The log in words: each kind's label and each row's description, as an office user reads them.

import { credits, dateTime, el, plural } from "./ui.js";

// `expiry` is a reservation that lapsed (no credits move); `lot_expiry` is credits whose lot lapsed.
export const KINDS = {
  purchase: "Purchase", transfer: "Transfer", hold: "Sending", capture: "Sent",
  void: "Released (not sent)", expiry: "Reservation expired", mode_change: "Credit mode change", refund: "Refund",
  grant: "Promotional grant", lot_expiry: "Credits expired", delivery_refund: "Undelivered SMS refund",
};
export const NO_MATCH = "No entries match these filters.";
export const NOTHING = "No credits came in or went out in the last 30 days.";

// What a row means, in words: the log's raw references (`message:…`, `purchase:…`) say nothing to an
// office user. A purchase names its invoice and offers its PDF.
export function description(entry) {
  const other = entry.counterparty;
  switch (entry.kind) {
    // A hold's note says what it was for ("SMS to 3 recipients"); its capture and release carry it too.
    case "hold":
      return [`${entry.note || "SMS being sent"}: ${plural(entry.quantity, "credit")} reserved, not yet spent`];
    case "capture":
      return [entry.note || "SMS sent"];
    case "void":
      return [`${entry.note || "SMS"} not sent: the reserved credits are available again`];
    case "expiry":
      return [`${entry.note ? `${entry.note}: reservation` : "Reservation"} lapsed: the credits are available again`];
    case "transfer": {
      const words = other ? `Transfer ${entry.direction === "in" ? "from" : "to"} ${other}` : "Transfer";
      return [entry.note ? `${words}: “${entry.note}”` : words];
    }
    case "purchase": {
      const invoice = /INV-[\w-]+/.exec(entry.note || "")?.[0];
      const purchase = /^purchase:([0-9a-f-]{36})$/.exec(entry.reference || "")?.[1];
      if (!invoice) return ["Purchase"];
      if (!purchase) return [`Purchase ${invoice}`];
      return ["Purchase ", el("a", {
        href: `/api/v1/purchases/${purchase}/invoice.pdf`, "data-invoice": purchase,
        "aria-label": `Tax invoice ${invoice} (PDF)`, text: invoice,
      })];
    }
    case "mode_change":
      return [entry.note ? `Credit mode change: ${entry.note}` : "Credit mode change"];
    // An operator's gift: the note is their reason ("Welcome bonus").
    case "grant":
      return [entry.note ? `Promotional credits: ${entry.note}` : "Promotional credits"];
    // Credits back for a recipient the message did not reach; the note names them (masked) and why.
    case "delivery_refund":
      return [entry.note || "SMS not delivered: credits back"];
    case "lot_expiry":
      return [entry.lot_expires_at ? `Credits expired on ${dateTime(entry.lot_expires_at)}` : "Credits expired"];
    default:
      return [entry.note || entry.reference || "\u2014"];
  }
}

// A small tag on a row that moved promotional credits (granted, never paid for): "Promotional" when all
// of its credits were, else how many. Older answers have no `promotional`: no tag.
export function promotionalTag(entry) {
  const promotional = entry.promotional || 0;
  if (promotional <= 0) return [];
  const text = promotional >= entry.quantity ? "Promotional" : `${credits(promotional)} promotional`;
  return [" ", el("span", { className: "badge", "data-promotional": String(promotional), text })];
}
