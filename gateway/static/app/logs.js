// View Last 30 Days Logs: every credit in or out of the accounts the person manages, newest first,
// filtered by account, direction and kind; more on request; as CSV or as a printable report.

import { getJson, getRaw, query, session } from "./api.js";
import { onLive } from "./live.js";
import { description, KINDS, NO_MATCH, NOTHING, promotionalTag } from "./log_words.js";
import { $, busy, credits, dateTime, el, generalMessage, show } from "./ui.js";
import { usageChart } from "./usage_chart.js";

const PAGE_SIZE = 50;
const STALE_RETRY_MS = 1000;
const STALE_RETRIES = 15;

export function logsView({ navigate }) {
  const filters = $("#logs-filters");
  const account = $("#logs-account");
  const direction = $("#logs-direction");
  const kind = $("#logs-kind");
  const rows = $("#logs-body");
  const more = $("#logs-more");
  const region = $("#logs-region");
  let linkToken = null; // a consistency token handed over in the address (from the confirmation page)
  let cursor = null;
  let loading = null;
  let staleTimer = null;
  let visits = 0;
  const chart = usageChart();

  const chosen = () => ({ account: account.value, direction: direction.value, kind: kind.value });
  // The newest write this person made: the log waits (briefly) until it includes it.
  const consistencyToken = () => {
    const tokens = [session.consistencyToken, linkToken].map(Number).filter((n) => n > 0);
    return tokens.length ? Math.max(...tokens) : undefined;
  };
  const filterQuery = (extra = {}) => query({ ...chosen(), consistency_token: consistencyToken(), ...extra });

  async function fillAccounts() {
    try {
      const accounts = await getJson("/accounts");
      account.replaceChildren(el("option", { value: "", text: "All accounts" }),
        ...accounts.map((a) => el("option", { value: a.id, text: a.name })));
    } catch (problem) {
      show($("#logs-error"), `Your accounts could not be loaded: ${problem.message}`);
    }
  }

  // A reservation (a hold, its release or lapse) moves no balance: it is marked as such and has no sign,
  // so a 4-credit SMS reads as 4 credits reserved and then 4 spent, not as 8 spent.
  function entryRow(entry) {
    const reserved = entry.reservation;
    const sign = reserved ? "" : entry.direction === "in" ? "+" : "\u2212";
    const spoken = reserved ? (entry.direction === "out" ? " reserved" : " released") : entry.direction === "in" ? " in" : " out";
    const amount = el("span", { className: reserved ? "amount-reserved" : entry.direction === "in" ? "amount-in" : "amount-out" },
      sign ? el("span", { "aria-hidden": "true", text: sign }) : null, credits(entry.quantity),
      el("span", { className: "visually-hidden", text: spoken }));
    const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
    const badge = reserved
      ? el("span", { className: "badge", text: entry.direction === "out" ? "Reserved" : "Released" }) : null;
    return el("tr", {
      "data-entry-id": entry.id, "data-transaction-id": entry.transaction_id, "data-reference": entry.reference,
      "data-direction": entry.direction,
      "data-kind": entry.kind, "data-reservation": reserved ? "true" : null, className: reserved ? "reservation" : null,
    },
    cell("When", el("time", { datetime: entry.occurred_at, text: dateTime(entry.occurred_at) })),
    cell("Account", entry.account),
    cell("Kind", KINDS[entry.kind] || entry.kind, badge ? " " : null, badge, ...promotionalTag(entry)),
    el("td", { "data-label": "Credits", className: "num" }, amount),
    el("td", { "data-label": "Balance after", className: "num", text: credits(entry.balance_after) }),
    cell("From / to", entry.counterparty || "\u2014"),
    el("td", { "data-label": "By", "data-by-reference": entry.actor ? null : entry.reference,
      text: entry.actor || senders.get(entry.reference) || "\u2014" }),
    el("td", { "data-label": "Description", className: "note" }, ...description(entry),
      el("span", { className: "transaction-id", text: `Transaction ${entry.transaction_id}` })));
  }

  // The ledger settles a message on its own, so a capture (and a release) names no person; the hold
  // placed when the person pressed Send shares its reference and does. The rows read so far say who.
  const senders = new Map();
  function learnSenders(entries) {
    for (const entry of entries) {
      if (entry.kind === "hold" && entry.actor && entry.reference) senders.set(entry.reference, entry.actor);
    }
    for (const cell of rows.querySelectorAll("td[data-by-reference]")) {
      const sender = senders.get(cell.dataset.byReference);
      if (sender) {
        cell.textContent = sender;
        delete cell.dataset.byReference;
      }
    }
  }

  const filtered = () => Boolean(account.value || direction.value || kind.value);
  function showEmpty() {
    const empty = rows.children.length === 0;
    $("#logs-empty").hidden = !empty;
    $("#logs-empty-text").textContent = filtered() ? NO_MATCH : NOTHING;
    $("#logs-clear").hidden = !filtered();
  }

  async function load({ append = false } = {}) {
    clearTimeout(staleTimer);
    loading?.abort();
    loading = new AbortController();
    region.setAttribute("aria-busy", "true");
    show($("#logs-error"), "");
    try {
      const page = await getJson(`/logs${filterQuery({ cursor: append ? cursor : undefined, limit: PAGE_SIZE })}`,
        { signal: loading.signal });
      if (!append) rows.replaceChildren();
      learnSenders(page.entries);
      rows.append(...page.entries.map(entryRow));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      showEmpty();
      return page;
    } catch (problem) {
      if (problem.name !== "AbortError") show($("#logs-error"), generalMessage(problem));
      return null;
    } finally {
      region.setAttribute("aria-busy", "false");
    }
  }

  // While reporting has not yet caught up with the person's last change, say so and look again.
  async function refresh(retries = STALE_RETRIES) {
    const page = await load();
    // After the page: the page waited until the log includes the person's last change, so the chart does too.
    chart.refresh(account.value);
    const stale = Boolean(page?.stale);
    $("#logs-stale").hidden = !stale;
    if (stale && retries > 0) staleTimer = setTimeout(() => refresh(retries - 1), STALE_RETRY_MS);
  }

  // A transfer made in the box over this page: show it here too.
  document.addEventListener("credits-changed", () => {
    if (!$("#view-logs").hidden) refresh();
  });
  // Live: credits moved in an account this person manages. The newest page is read again with the same
  // filters (waiting until the log includes that transaction) and what is new goes on top; the pages
  // already shown stay, and so does the reader's place on the page.
  let fresh = null;
  onLive("balance", (change) => {
    if ($("#view-logs").hidden) return;
    clearTimeout(fresh);
    fresh = setTimeout(() => addNewest(change.consistency_token), 200); // one read for a burst
  });
  onLive("reset", () => {
    if (!$("#view-logs").hidden) refresh();
  });

  async function addNewest(token) {
    let page;
    try {
      const wait = Math.max(Number(token) || 0, consistencyToken() || 0) || undefined;
      page = await getJson(`/logs${query({ ...chosen(), consistency_token: wait, limit: PAGE_SIZE })}`);
    } catch {
      return; // the next change, or a reload, shows it
    }
    if ($("#view-logs").hidden) return;
    const shown = new Set([...rows.children].map((row) => row.dataset.entryId));
    learnSenders(page.entries);
    const added = page.entries.filter((entry) => !shown.has(entry.id)).map(entryRow);
    if (!added.length) return;
    chart.refresh(account.value);
    if (shown.size && added.length === page.entries.length && page.next_cursor) {
      refresh(); // more came than one page holds: the newest page and the rows shown would leave a gap
      return;
    }
    const before = document.documentElement.scrollHeight;
    rows.prepend(...added);
    $("#logs-empty").hidden = true;
    if (!shown.size) {
      cursor = page.next_cursor;
      more.hidden = !cursor;
    }
    // Someone reading further down keeps their rows in view; someone at the top sees the new ones.
    if (window.scrollY > 0) window.scrollBy(0, document.documentElement.scrollHeight - before);
  }

  // Each choice of filters is an address of its own: Back returns to the previous choice, and a
  // bookmark or a shared link opens the same view.
  filters.addEventListener("change", () => {
    navigate.push(`/credits/logs${query(chosen())}`);
    show($("#logs-notice"), "");
    refresh();
  });
  $("#logs-clear").addEventListener("click", () => {
    filters.reset();
    navigate.push("/credits/logs");
    show($("#logs-notice"), "");
    refresh();
    account.focus();
  });
  // The invoice is behind the API's bearer token, so the link is fetched by script and saved.
  rows.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-invoice]");
    if (!link) return;
    event.preventDefault();
    show($("#logs-error"), "");
    try {
      const response = await getRaw(`/purchases/${link.dataset.invoice}/invoice.pdf`);
      saveBlob(await response.blob(), fileName(response.headers.get("Content-Disposition"), "tax-invoice.pdf"));
    } catch (problem) {
      show($("#logs-error"), `The invoice could not be downloaded. ${generalMessage(problem)}`);
    }
  });
  filters.addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", async () => {
    const before = rows.children.length;
    busy(more, true);
    await load({ append: true });
    busy(more, false);
    const added = rows.children.length - before;
    show($("#logs-notice"), `${added} more ${added === 1 ? "entry" : "entries"} shown.`);
    if (more.hidden) $("#logs-notice").focus();
  });
  $("#logs-csv").addEventListener("click", (event) => download(event.currentTarget));
  $("#logs-print").addEventListener("click", (event) => printReport(event.currentTarget));

  async function download(button) {
    busy(button, true);
    show($("#logs-error"), "");
    try {
      const response = await getRaw(`/logs.csv${filterQuery()}`);
      const name = fileName(response.headers.get("Content-Disposition"), "sms-credits-log.csv");
      saveBlob(await response.blob(), name);
      show($("#logs-notice"), `Downloaded ${name}.`);
    } catch (problem) {
      show($("#logs-error"), `The CSV could not be downloaded. ${generalMessage(problem)}`);
    } finally {
      busy(button, false);
    }
  }

  async function printReport(button) {
    // Opened now, while the click still counts as the person's: a window opened after the download
    // would be stopped as a pop-up.
    const report = window.open("", "_blank");
    if (report) {
      report.opener = null;
      report.document.title = "Preparing the report…";
      report.document.body.textContent = "Preparing the report…";
    }
    busy(button, true);
    show($("#logs-error"), "");
    try {
      const response = await getRaw(`/logs/report${filterQuery()}`);
      const { html, css } = forBlob(await response.text(), response.url);
      const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      setTimeout(() => URL.revokeObjectURL(url), 120_000);
      if (report) {
        report.location.replace(url);
        whenLoaded(report, url, () => {
          restyle(report, css);
          report.focus();
          report.print();
        });
      } else {
        $("#logs-notice").replaceChildren("Your browser blocked the new window: ",
          el("a", { href: url, target: "_blank", rel: "noopener", text: "open the report" }), ".");
        show($("#logs-notice"));
      }
    } catch (problem) {
      report?.close();
      show($("#logs-error"), `The report could not be opened. ${generalMessage(problem)}`);
    } finally {
      busy(button, false);
    }
  }

  return {
    async enter(params) {
      const visit = ++visits;
      clearTimeout(staleTimer);
      linkToken = params.get("consistency_token");
      show($("#logs-notice"), "");
      $("#logs-stale").hidden = true;
      await fillAccounts();
      if (visit !== visits) return; // a newer visit (Back, a link) took over while this one waited
      account.value = params.get("account") || "";
      if (account.selectedIndex < 0) account.value = "";
      direction.value = ["in", "out"].includes(params.get("direction")) ? params.get("direction") : "";
      kind.value = params.get("kind") in KINDS ? params.get("kind") : "";
      await refresh();
    },
    leave() {
      clearTimeout(staleTimer);
      loading?.abort();
    },
  };
}

// The report arrives as HTML and is shown from a Blob URL. There a relative link (to a stylesheet, say)
// leads nowhere, and the page takes on this app's Content Security Policy, which refuses the report's
// inline <style> and style attributes. So links are made absolute, and the styles are taken out of the
// markup and applied through the CSSOM once the page is open (see restyle), which the policy allows:
// the styles are the report's own, from our server; its scripts, if it had any, still never run.
function forBlob(html, base) {
  // <style> is cut out of the text before parsing: even an unrendered parse is checked against the
  // policy. Its content is raw text that ends at the first "</style", exactly as this pattern reads it.
  const styles = [];
  const unstyled = html.replace(/<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi, (_, css) => {
    styles.push(css);
    return "";
  });
  const doc = new DOMParser().parseFromString(unstyled, "text/html");
  for (const [selector, attribute] of [["link[href]", "href"], ["img[src]", "src"], ["a[href]", "href"]]) {
    for (const node of doc.querySelectorAll(selector)) {
      node.setAttribute(attribute, new URL(node.getAttribute(attribute), base).href);
    }
  }
  for (const node of doc.querySelectorAll("[style]")) {
    node.dataset.reportStyle = node.getAttribute("style");
    node.removeAttribute("style");
  }
  return { html: `<!doctype html>\n${doc.documentElement.outerHTML}`, css: styles.join("\n") };
}

function restyle(report, css) {
  const doc = report.document;
  if (css) {
    const sheet = new report.CSSStyleSheet();
    sheet.replaceSync(css);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  }
  for (const node of doc.querySelectorAll("[data-report-style]")) node.style.cssText = node.dataset.reportStyle;
}

function whenLoaded(report, url, then, tries = 50) {
  try {
    if (report.closed) return;
    if (report.location.href === url && report.document.readyState === "complete") {
      then();
      return;
    }
  } catch { return; }
  if (tries > 0) setTimeout(() => whenLoaded(report, url, then, tries - 1), 200);
}

export function fileName(disposition, fallback) {
  let name = "";
  const encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition || "");
  if (encoded) {
    try { name = decodeURIComponent(encoded[1].trim()); } catch { name = ""; }
  }
  if (!name) name = (/filename\s*=\s*"([^"]*)"/i.exec(disposition || "") || /filename\s*=\s*([^;\s]+)/i.exec(disposition || "") || [])[1] || "";
  // Only a plain name: no folders, no control characters.
  name = name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_").trim();
  return name || fallback;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
