// The app: sign in, the shell with the person's name and its drop-down, and the addresses it answers:
//   /signin?next=…                        sign in, then go on to `next`
//   /                                      home
//   /credits                               home with the Manage SMS Credits box open
//   /credits/purchase?account=…            … on Purchase SMS Credits
//   /credits/transfer?from=…&to=…          … on Transfer SMS Credits
//   /credits/lots?account=…                … on an account's Credits by expiry
//   /credits/limit?account=…               … on a person's Monthly limit
//   /credits/logs?account=…&direction=…&kind=…&consistency_token=…   the 30-day log
//   /send                                  Send SMS
// Signing in or out loads the page afresh, so nothing of one person stays in memory for the next. A
// sign-out, or a session that ended, leads to the sign-in page with `next=` the page it left.

import { getJson, postJson, session, signOut, whenSignedOut } from "./api.js";
import { creditsBox } from "./credits.js";
import { startLive } from "./live.js";
import { logsView } from "./logs.js";
import { sendView } from "./send.js";
import { $, $$, busy, clearErrors, focusFirstError, generalMessage, menuButton, show, showError, useTimeZone } from "./ui.js";

const VIEWS = ["signin", "home", "logs", "send"];
const BOX_PATHS = { "/credits": "accounts", "/credits/purchase": "purchase", "/credits/transfer": "transfer",
  "/credits/lots": "lots", "/credits/limit": "limit" };
let box = null;
let logs = null;
let send = null;
let current = null;
let beforeBox = "/"; // the address the box was opened over, given back when it closes
let popping = false; // Back or Forward: the browser has already chosen the address

const navigate = {
  to(path) {
    history.pushState(null, "", path);
    route({ moveFocus: true });
  },
  replace(path) { history.replaceState(null, "", path); },
  // A new address for what is already on screen (the box, a panel of it, the log's filters): Back and
  // Forward move through them (see popstate) and a bookmark reopens the same view.
  push(path) {
    if (!(location.pathname in BOX_PATHS) && path.split("?")[0] in BOX_PATHS) {
      beforeBox = location.pathname + location.search;
    }
    if (path !== location.pathname + location.search) history.pushState(null, "", path);
  },
  // Closing the box leaves its address, so that a reload does not open it again.
  leaveBox() {
    if (!popping && location.pathname in BOX_PATHS) navigate.replace(beforeBox);
    beforeBox = "/";
  },
};

function signInAddress(extra = {}) {
  const here = location.pathname + location.search;
  const params = new URLSearchParams(extra);
  if (location.pathname !== "/signin" && here !== "/") params.set("next", here);
  const text = params.toString();
  return `/signin${text ? `?${text}` : ""}`;
}

// Only a path of this site: never send a person on to another site after signing in.
function nextAddress() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function showView(name, moveFocus) {
  $("#loading").hidden = true;
  if (current === "logs" && name !== "logs") logs.leave();
  if (current === "send" && name !== "send") send.leave();
  for (const view of VIEWS) $(`#view-${view}`).hidden = view !== name;
  $("#main").classList.toggle("wide", name === "logs");
  document.title = { signin: "Sign in", home: "SMS Credits", logs: "Last 30 Days Logs", send: "Send SMS" }[name]
    + (name === "home" ? "" : " · SMS Credits");
  current = name;
  if (moveFocus) $(`#view-${name} h1`).focus();
}

function signInView() {
  showView("signin");
  const expired = new URLSearchParams(location.search).get("expired");
  show($("#signin-notice"), expired ? "Your session has ended. Sign in again to continue." : "");
  const form = $("#signin-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    if (!email) showError(form, "email", "Enter your email address.");
    if (!password) showError(form, "password", "Enter your password.");
    if (!email || !password) {
      focusFirstError(form);
      return;
    }
    const button = $("button[type=submit]", form);
    busy(button, true);
    try {
      const token = await postJson("/auth/token", { email, password }, { anonymous: true });
      session.signIn(token);
      window.location.assign(nextAddress());
    } catch (problem) {
      busy(button, false);
      const message = {
        401: "The email or password is not right.",
        429: "Too many sign-in attempts. Wait a minute and try again.",
        400: "Enter your email address and password.",
      }[problem.status] || generalMessage(problem);
      showError(form, "form", message);
    }
  });
  form.elements.email.focus();
}

function shell(me) {
  if (me.tenant?.timezone) {
    useTimeZone(me.tenant.timezone);
    $("#logs-zone").textContent = `Times are in ${me.tenant.timezone.replace(/_/g, " ")} time.`;
  }
  $("#user-name").textContent = me.name;
  $("#user-menu").hidden = false;
  $("#home-name").textContent = me.name;
  // Operators decide the masters' credit mode requests and grant promotional credits on pages of their own;
  // under `make run` they also find the emails the system sent (caught on this machine, /dev/mail).
  if (me.role === "operator") {
    const links = [["/admin/credit-mode-requests", "Credit mode requests"],
      ["/admin/promotional-credits", "Grant promotional credits"]];
    if (document.body.dataset.devMail === "on") links.push(["/dev/mail", "Emails sent (caught on this machine)"]);
    for (const [href, textContent] of links.reverse()) {
      const line = document.createElement("p");
      line.append(Object.assign(document.createElement("a"), { href, textContent }));
      $("#view-home .card").prepend(line);
    }
  }
  const mode = me.tenant?.credit_mode === "individual" ? "Individual User SMS Credits" : "Shared System Credits";
  $("#home-tenant").textContent = me.tenant
    ? `${me.tenant.name} · ${mode}${me.role === "master" ? " · Master user" : ""}` : "";
  box = creditsBox({ me, navigate });
  logs = logsView({ navigate });
  send = sendView({ me });
  const userButton = $("#user-button");
  menuButton(userButton, $("#user-menu-list"), (command) => {
    userButton.focus();
    run(command);
  });
  for (const command of ["manage", "send", "logs"]) {
    for (const button of $$(`main [data-command="${command}"]`)) button.addEventListener("click", () => run(command));
  }
}

function run(command) {
  if (command === "manage") {
    navigate.push("/credits");
    box.open();
  }
  if (command === "logs") navigate.to("/credits/logs");
  if (command === "send") navigate.to("/send");
  if (command === "signout") signOut().then(() => window.location.assign(signInAddress()));
}

async function route({ moveFocus = false } = {}) {
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/send") {
    showView("send", moveFocus);
    await send.enter();
    return;
  }
  if (location.pathname === "/credits/logs") {
    showView("logs", moveFocus);
    await logs.enter(params);
    return;
  }
  const panel = BOX_PATHS[location.pathname];
  // Back or Forward between the box's panels keeps the page under it as it is.
  if (!(panel && box.isOpen)) showView("home", moveFocus);
  if (panel) await box.open(panel, { account: params.get("account"), from: params.get("from"), to: params.get("to") });
}

async function start() {
  if (location.pathname === "/signin") {
    if (session.signedIn) window.location.replace(nextAddress());
    else signInView();
    return;
  }
  if (!session.signedIn) {
    window.location.replace(signInAddress());
    return;
  }
  whenSignedOut(() => window.location.assign(signInAddress({ expired: "1" })));
  let me;
  try {
    me = await getJson("/me");
  } catch (problem) {
    if (problem.status !== 401) show($("#loading"), `${generalMessage(problem)} Reload the page to try again.`);
    return;
  }
  shell(me);
  // Live updates for a tenant's people (operators have no accounts to follow).
  if (me.tenant) startLive();
  window.addEventListener("popstate", () => {
    const toBox = location.pathname in BOX_PATHS;
    if (!toBox) {
      popping = true;
      box.close({ restoreFocus: false });
      popping = false;
    }
    route({ moveFocus: !toBox });
  });
  await route();
}

// Back from the payment screen, the page may come from the browser's cache with a button still busy.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) for (const button of $$('button[aria-busy="true"]')) busy(button, false);
});

start();
