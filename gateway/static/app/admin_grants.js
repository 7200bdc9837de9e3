// The operators' page for promotional grants (/admin/promotional-credits): pick an organisation and one of
// its accounts, say how many credits, until when and why. Each submission has its own Idempotency-Key; a
// retry of the same one (no answer, a server error, a double click) reuses it, so it cannot grant twice.
// `?tenant=<id>` preselects an organisation. Signed out, it sends the person to sign in and back here.

import { Attempt, getJson, postJson, session, whenSignedOut } from "./api.js";
import {
  $, busy, clearErrors, credits, dateTime, el, focusFirstError, generalMessage, plural, show, showError, useTimeZone,
  wholeNumber,
} from "./ui.js";

const HERE = "/admin/promotional-credits";
const MAX_QUANTITY = 1_000_000;
// The API's field errors in plain words (its own messages are a validator's); others show as they come.
const FIELD_WORDS = {
  account_id: "Choose one of the organisation's accounts.",
  quantity: `Enter a whole number of credits from 1 to ${credits(MAX_QUANTITY)}.`,
  expires_at: "Choose a date from today on, or leave it empty for credits that never expire.",
  reason: "Write a reason of up to 200 characters: the organisation's log shows it.",
};

const form = $("#grant-form");
const tenantSelect = $("#grant-tenant");
const accountSelect = $("#grant-account");
const submit = $("#grant-submit");
const attempt = new Attempt();
let tenants = [];
let accounts = [];

function signIn() {
  window.location.assign(`/signin?${new URLSearchParams({ next: location.pathname + location.search })}`);
}

function fail(text) {
  $("#grant-loading").hidden = true;
  show($("#grant-page-error"), text);
}

async function start() {
  if (!session.signedIn) {
    signIn();
    return;
  }
  whenSignedOut(signIn);
  try {
    const me = await getJson("/me");
    if (me.role !== "operator") {
      fail("This page is for platform operators.");
      return;
    }
    tenants = await getJson("/admin/tenants");
  } catch (problem) {
    if (problem.status !== 401) fail(`The organisations could not be loaded: ${problem.message} Reload the page to try again.`);
    return;
  }
  tenantSelect.replaceChildren(el("option", { value: "", text: "Choose an organisation" }),
    ...tenants.map((t) => el("option", { value: t.id, text: t.name })));
  const wanted = new URLSearchParams(location.search).get("tenant");
  if (tenants.some((t) => t.id === wanted)) tenantSelect.value = wanted;
  $("#grant-loading").hidden = true;
  form.hidden = false;
  await loadAccounts();
}

async function loadAccounts(chosen = "") {
  const tenant = tenants.find((t) => t.id === tenantSelect.value);
  accounts = [];
  accountSelect.replaceChildren(el("option", { value: "", text: tenant ? "Loading…" : "Choose an organisation first" }));
  accountSelect.disabled = !tenant;
  if (!tenant) {
    $("#grant-account-hint").textContent = "Choose an organisation first: its accounts and their balances are listed.";
    return;
  }
  if (tenant.timezone) useTimeZone(tenant.timezone);
  $("#grant-expires-hint").textContent = "Unspent credits lapse at the end of this day in "
    + `${zoneOf(tenant).replace(/_/g, " ")} time. Leave it empty for credits that never expire.`;
  try {
    accounts = await getJson(`/admin/tenants/${encodeURIComponent(tenant.id)}/accounts`);
  } catch (problem) {
    if (tenantSelect.value !== tenant.id) return;
    accountSelect.replaceChildren(el("option", { value: "", text: "Not loaded" }));
    showError(form, "account_id", `The accounts of ${tenant.name} could not be loaded: ${problem.message}`);
    return;
  }
  if (tenantSelect.value !== tenant.id) return; // another organisation was chosen meanwhile
  accountSelect.replaceChildren(el("option", { value: "", text: "Choose an account" }),
    ...accounts.map((a) => el("option", { value: a.id, text: `${a.name} (${plural(a.balance, "credit")})` })));
  $("#grant-account-hint").textContent = `The accounts of ${tenant.name}, each with its balance now.`;
  const system = accounts.find((a) => a.kind === "system");
  accountSelect.value = accounts.some((a) => a.id === chosen) ? chosen : (accounts.length === 1 ? system?.id || "" : "");
}

const zoneOf = (tenant) => tenant.timezone || "UTC";

// The offset of a time zone from UTC at an instant, in milliseconds (Intl knows zones; Date does not).
function zoneOffset(timeZone, instant) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", second: "numeric",
  }).formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

// "2026-06-30" -> the last second of that day in the organisation's zone, as ISO 8601 in UTC.
function endOfDay(date, timeZone) {
  const [year, month, day] = date.split("-").map(Number);
  const local = Date.UTC(year, month - 1, day, 23, 59, 59);
  let instant = local - zoneOffset(timeZone, local);
  instant = local - zoneOffset(timeZone, instant); // again at the instant itself: a daylight saving change
  return new Date(instant).toISOString();
}

function read() {
  const tenant = tenants.find((t) => t.id === tenantSelect.value);
  const quantity = wholeNumber(form.elements.quantity.value);
  const date = form.elements.expires_on.value;
  const reason = form.elements.reason.value.trim();
  const faults = [];
  if (!tenant) faults.push(["tenant", "Choose an organisation."]);
  else if (!accountSelect.value) faults.push(["account_id", "Choose an account."]);
  if (quantity === null || quantity < 1 || quantity > MAX_QUANTITY) faults.push(["quantity", FIELD_WORDS.quantity]);
  const expiresAt = tenant && date ? endOfDay(date, zoneOf(tenant)) : null;
  if (expiresAt && new Date(expiresAt) <= new Date()) faults.push(["expires_at", FIELD_WORDS.expires_at]);
  if (!reason) faults.push(["reason", "Write a reason: the organisation's log shows it."]);
  const body = { account_id: accountSelect.value, quantity, expires_at: expiresAt, reason };
  return { tenant, body, faults };
}

async function grant(event) {
  event.preventDefault();
  clearErrors(form);
  show($("#grant-result"), "");
  const { tenant, body, faults } = read();
  if (faults.length) {
    for (const [field, message] of faults) showError(form, field, message);
    focusFirstError(form);
    return;
  }
  busy(submit, true);
  try {
    const key = attempt.keyFor({ tenant: tenant.id, ...body });
    const granted = await postJson(`/admin/tenants/${encodeURIComponent(tenant.id)}/grants`, body,
      { headers: { "Idempotency-Key": key } });
    attempt.reset();
    showGranted(tenant, granted);
  } catch (problem) {
    refused(problem);
  } finally {
    busy(submit, false);
  }
}

function showGranted(tenant, granted) {
  const expiry = granted.expires_at ? `they expire ${dateTime(granted.expires_at)}` : "they never expire";
  const result = $("#grant-result");
  result.replaceChildren(
    el("p", { text: `Granted ${plural(granted.quantity, "promotional credit")} to ${tenant.name} `
      + `(${granted.account.name}); ${expiry}.` }),
    el("p", { text: `Reason: ${granted.reason}. The balance of ${granted.account.name} is now `
      + `${plural(granted.account.balance, "credit")}.` }));
  show(result);
  for (const name of ["quantity", "expires_on", "reason"]) form.elements[name].value = "";
  const account = accounts.find((a) => a.id === granted.account.id);
  if (account) Object.assign(account, granted.account);
  const option = [...accountSelect.options].find((o) => o.value === granted.account.id);
  if (option) option.textContent = `${granted.account.name} (${plural(granted.account.balance, "credit")})`;
  result.focus();
}

function refused(problem) {
  // No answer or a server error: the grant may have gone through. The same submission again reuses the
  // key, so it is granted once at most; a refusal is final for these details, and a change is a new one.
  const unsure = problem.status === 0 || problem.status >= 500;
  if (!unsure) attempt.reset();
  const fields = problem.errors.filter((e) => e.field in FIELD_WORDS);
  for (const error of fields) showError(form, error.field, FIELD_WORDS[error.field]);
  if (!fields.length) {
    const message = {
      403: "Only platform operators grant promotional credits.",
      404: "That organisation or account no longer exists. Reload the page and choose again.",
    }[problem.status] || generalMessage(problem, "Press Grant credits again: it will not grant twice.");
    showError(form, "form", message);
  }
  focusFirstError(form);
}

tenantSelect.addEventListener("change", () => loadAccounts());
form.addEventListener("submit", grant);
start();
