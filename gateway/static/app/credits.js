// The "Manage SMS Credits" box: the accounts the person manages with their balances (and the credits of
// each that lapse soon), and from each account's Actions menu the purchase and transfer forms, its
// credits by expiry and a person's monthly limit (in the box), or the log (a page).

import { getJson } from "./api.js";
import { onLive } from "./live.js";
import { limitPanel, maySetLimits } from "./limits.js";
import { expiringText, lotsPanel } from "./lots.js";
import { modeRequestSection } from "./mode_request.js";
import { purchaseForm } from "./purchase.js";
import { transferForm } from "./transfer.js";
import { $, $$, credits, el, menuButton, modal, show } from "./ui.js";

const PANELS = ["accounts", "purchase", "transfer", "lots", "limit", "none"];

export function creditsBox({ me, navigate }) {
  const dialog = $("#credits-dialog");
  const state = { me, accounts: [], users: [], loaded: false };
  const box = modal(dialog, { onClose: () => navigate.leaveBox() });
  const purchase = purchaseForm(state, { showPanel, unavailable });
  const transfer = transferForm(state, { showPanel, unavailable, transferred });
  const modeRequest = modeRequestSection(state);
  const lots = lotsPanel(state, { showPanel, unavailable });
  const limit = limitPanel(state, { showPanel, unavailable });

  $("#credits-close").addEventListener("click", () => box.close());
  for (const back of $$('[data-command="back"]', dialog)) {
    back.addEventListener("click", () => {
      navigate.push("/credits");
      showPanel("accounts");
    });
  }

  // Live: a balance shown changes in place (an open Actions menu or focus stays where it is); an
  // account not shown yet, a changed credit mode or a stream that lost its place reloads the list.
  onLive("balance", (change) => {
    const account = state.accounts.find((a) => a.id === change.account_id);
    if (!account) {
      if (state.loaded && dialog.open) load();
      return;
    }
    Object.assign(account, { balance: change.balance, held: change.held, available: change.available });
    const row = $(`tr[data-account-id="${CSS.escape(account.id)}"]`, dialog);
    for (const field of ["balance", "held", "available"]) {
      const cell = row && $(`[data-field="${field}"]`, row);
      if (cell) cell.textContent = credits(account[field]);
    }
  });
  for (const name of ["reset", "credit_mode"]) {
    onLive(name, (change) => {
      if (name === "credit_mode") state.me.tenant.credit_mode = change.mode;
      if (state.loaded && dialog.open) load();
    });
  }

  async function load() {
    show($("#accounts-error"), "");
    try {
      [state.accounts, state.users] = await Promise.all([getJson("/accounts"), getJson("/users")]);
    } catch (problem) {
      show($("#accounts-error"), `Your accounts could not be loaded: ${problem.message}`);
      state.accounts = [];
      state.users = [];
    }
    state.loaded = true;
    renderAccounts();
    await modeRequest.refresh();
  }

  function showPanel(name, focusTarget) {
    for (const panel of PANELS) $(`#panel-${panel}`).hidden = panel !== name;
    if (name === "accounts") renderAccounts();
    (focusTarget || $("#credits-title")).focus();
  }

  function unavailable(text) {
    show($("#panel-none-text"), text);
    showPanel("none");
  }

  async function transferred(message) {
    show($("#accounts-status"), message);
    navigate.replace("/credits");
    await load();
    showPanel("accounts", $("#accounts-status"));
  }

  function renderAccounts() {
    const groups = $("#accounts-groups");
    // Fresh figures may arrive while the person has an account's Actions menu open, or is on one of its
    // buttons (the list is drawn again on Back, on a mode change, on an account new to it): the same menu
    // opens again on the new row, and focus stays on the same button, instead of vanishing under them.
    const kept = keptPlace(groups);
    groups.replaceChildren();
    if (!state.loaded) {
      groups.append(el("p", { className: "muted", text: "Loading your accounts…" }));
      return;
    }
    const individual = state.me.tenant?.credit_mode === "individual";
    show($("#accounts-mode"), individual ? "" : "Your organisation shares one pool: System Credits.");
    const system = state.accounts.filter((a) => a.kind === "system");
    const users = state.accounts.filter((a) => a.kind === "user");
    if (system.length) groups.append(accountTable("System Credits", "(master users only)", system));
    if (users.length) groups.append(accountTable("User Credits", "", users));
    $("#accounts-explained").hidden = !state.accounts.length;
    if (!state.accounts.length && $("#accounts-error").hidden) {
      groups.append(el("p", { text: "There are no SMS credit accounts you can manage." }));
    }
    restorePlace(groups, kept);
  }

  function keptPlace(groups) {
    const open = $('button[aria-expanded="true"]', groups);
    const focused = groups.contains(document.activeElement) ? document.activeElement : null;
    const row = (open || focused)?.closest("tr[data-account-id]");
    if (!row) return null;
    if (open) open.click(); // closed before its row goes, so that no menu is left open off the page
    return { account: row.dataset.accountId, menuOpen: Boolean(open), command: focused?.dataset.command };
  }

  function restorePlace(groups, kept) {
    const row = kept && $(`tr[data-account-id="${CSS.escape(kept.account)}"]`, groups);
    if (!row) return;
    const button = $("button", row);
    if (kept.menuOpen) button.click();
    const item = kept.command && $(`[data-command="${CSS.escape(kept.command)}"]`, row);
    (item || (kept.menuOpen ? null : button))?.focus();
  }

  function accountTable(title, note, accounts) {
    const caption = el("caption", { text: title }, note ? el("span", { className: "optional", text: ` ${note}` }) : null);
    const head = el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "Account" }),
      el("th", { scope: "col", className: "num", text: "Balance" }),
      // The hint under the tables says what Held and Available mean; a screen reader hears it on the headers.
      el("th", { scope: "col", className: "num", text: "Held", "aria-describedby": "accounts-explained" }),
      el("th", { scope: "col", className: "num", text: "Available", "aria-describedby": "accounts-explained" }),
      el("th", { scope: "col", className: "actions-cell" }, el("span", { className: "visually-hidden", text: "Actions" }))));
    const body = el("tbody", {}, ...accounts.flatMap(accountRows));
    return el("table", { className: "stack accounts", "data-kind": accounts[0].kind }, caption, head, body);
  }

  function accountRow(account) {
    const row = $("#account-row").content.firstElementChild.cloneNode(true);
    row.dataset.accountId = account.id;
    $(".account-name", row).textContent = account.name;
    for (const field of ["balance", "held", "available"]) {
      $(`[data-field="${field}"]`, row).textContent = credits(account[field]);
    }
    const button = $("button", row);
    const list = $(".menu", row);
    button.setAttribute("aria-label", `Actions for ${account.name}`);
    list.id = `actions-${account.id}`;
    button.setAttribute("aria-controls", list.id);
    list.setAttribute("aria-label", `Actions for ${account.name}`);
    for (const [command, label] of actionsFor(account)) {
      list.append(el("li", { role: "none" }, el("button", { type: "button", role: "menuitem", "data-command": command, text: label })));
    }
    menuButton(button, list, (command) => act(command, account));
    return row;
  }

  // An account with credits lapsing soon says so on a line of its own under its row (its name stays the
  // row's header alone), with a way to see which.
  function accountRows(account) {
    const row = accountRow(account);
    const expiring = expiringText(account);
    if (!expiring) return [row];
    const noteId = `expiring-${account.id}`;
    row.classList.add("has-note");
    $(".account-name", row).setAttribute("aria-describedby", noteId);
    const see = el("button", { type: "button", className: "link-button", text: "See credits by expiry",
      "aria-label": `See credits by expiry of ${account.name}` });
    see.addEventListener("click", () => act("lots", account));
    return [row, el("tr", { className: "account-note", "data-note-for": account.id },
      el("td", { colspan: "5" }, el("span", { id: noteId, "data-field": "expiring", text: expiring }), " ", see))];
  }

  function actionsFor(account) {
    const actions = [];
    // Credits go only to System Credits or to a person allowed to receive them (active, may send SMS).
    if (transfer.canReceive(account.id)) actions.push(["purchase", "Purchase SMS Credits"]);
    if (transfer.targetsExcept(account.id).length) actions.push(["transfer-from", "Transfer SMS Credits From this Account"]);
    if (transfer.canReceive(account.id) && transfer.sourcesExcept(account.id).length) {
      actions.push(["transfer-to", "Transfer SMS Credits To this Account"]);
    }
    actions.push(["lots", "View Credits by Expiry"]);
    if (account.kind === "user" && account.owner && maySetLimits(state.me)) actions.push(["limit", "Monthly Limit"]);
    actions.push(["logs", "View Last 30 Days Logs"]);
    return actions;
  }

  function act(command, account) {
    show($("#accounts-status"), "");
    // Each panel has its own address: Back returns to the accounts, a bookmark reopens the panel.
    const id = encodeURIComponent(account.id);
    if (command === "purchase") navigate.push(`/credits/purchase?account=${id}`);
    if (command === "transfer-from") navigate.push(`/credits/transfer?from=${id}`);
    if (command === "transfer-to") navigate.push(`/credits/transfer?to=${id}`);
    if (command === "lots") navigate.push(`/credits/lots?account=${id}`);
    if (command === "limit") navigate.push(`/credits/limit?account=${id}`);
    if (command === "purchase") purchase.open(account.id);
    if (command === "transfer-from") transfer.open({ from: account.id });
    if (command === "transfer-to") transfer.open({ to: account.id });
    if (command === "lots") lots.open(account.id);
    if (command === "limit") limit.open(account.id);
    if (command === "logs") {
      box.close({ restoreFocus: false });
      navigate.to(`/credits/logs?account=${encodeURIComponent(account.id)}`);
    }
  }

  return {
    // panel: "accounts" | "purchase" | "transfer" | "lots" | "limit"; options: {account} or {from, to}
    async open(panel = "accounts", options = {}) {
      show($("#accounts-status"), "");
      showPanel("accounts");
      box.open();
      $("#credits-title").focus();
      await load();
      if (panel === "purchase") purchase.open(options.account);
      else if (panel === "transfer") transfer.open(options);
      else if (panel === "lots") await lots.open(options.account);
      else if (panel === "limit") await limit.open(options.account);
    },
    close: (options) => box.close(options),
    get isOpen() { return box.isOpen; },
  };
}
