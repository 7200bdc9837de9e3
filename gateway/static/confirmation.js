// The confirmation page while a payment is being applied: it asks the server for the page again each
// second and shows it once the purchase's status has changed. A page that reloads itself on a timer
// (<meta http-equiv="refresh">) restarts a screen reader every second, which axe-core counts as a critical
// fault; this keeps the page still until there is something new to say. Loaded as a file: the CSP forbids
// inline scripts. Without scripts, the <noscript> refresh in the template still gets the buyer there.
const POLL_MS = 1000;
const shown = document.querySelector("[data-status]")?.dataset.status;

async function poll() {
  try {
    const response = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const status = page.querySelector("[data-status]")?.dataset.status;
    if (response.ok && status && status !== shown) {
      location.replace(location.href);
      return;
    }
  } catch { /* the network blinked: ask again */ }
  setTimeout(poll, POLL_MS);
}

if (shown === "pending" || shown === "paid") setTimeout(poll, POLL_MS);
