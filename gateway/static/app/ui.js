// Small DOM helpers: elements, formatting, field errors, menus and the modal box's focus trap.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// Text only, never HTML: a name or a note from the log cannot become markup.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const integer = new Intl.NumberFormat("en-AU", { maximumFractionDigits: 0 });
export const credits = (n) => integer.format(n);
export const money = (currency, amount) => `${currency} ${amount}`;
// "1 credit", "2 credits": a count with its noun, the number with thousands separators.
export const plural = (n, one, many = `${one}s`) => `${integer.format(n)} ${n === 1 ? one : many}`;

// Times are shown in the tenant's time zone with its abbreviation ("7 Dec 2026, 5:00 pm AEDT"), as the
// CSV and the printed report show them, not in whatever zone the PC's clock is set to.
let when = new Intl.DateTimeFormat("en-AU", { dateStyle: "medium", timeStyle: "short" });
let day = new Intl.DateTimeFormat("en-AU", { day: "numeric", month: "short", year: "numeric" });
export function useTimeZone(timeZone) {
  try {
    when = new Intl.DateTimeFormat("en-AU", {
      day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit", timeZone,
      timeZoneName: "short",
    });
    day = new Intl.DateTimeFormat("en-AU", { day: "numeric", month: "short", year: "numeric", timeZone });
  } catch { /* an unknown zone: the browser's own, rather than no times at all */ }
}
export const dateTime = (iso) => when.format(new Date(iso));
// The day alone ("1 Jan 2027"), in the tenant's zone: a month that starts at midnight there is that day.
export const dateOnly = (iso) => day.format(new Date(iso));

// "200" -> 200; anything but digits (a sign, a decimal point, letters) -> null.
export function wholeNumber(text) {
  const trimmed = String(text).trim().replace(/[,\s]/g, "");
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : null;
}

// What to tell a person when the API says no for a reason that is not about one field. `retryNote`
// follows a failure that may or may not have gone through (no answer, or a 5xx).
export function generalMessage(problem, retryNote = "") {
  if (problem.status === 0) return `${problem.detail} ${retryNote}`.trim();
  if (problem.status === 429) return "Too many requests just now: wait a moment and try again.";
  if (problem.status === 409) return "This was already sent with different details. Check them and try again.";
  if (problem.status >= 500) return `The service could not finish this just now. Try again in a moment. ${retryNote}`.trim();
  return problem.detail || problem.title || "Something went wrong.";
}

export function show(node, text) {
  if (text === undefined) {
    node.hidden = false;
    return;
  }
  node.textContent = text || "";
  node.hidden = !text;
}

// Field errors: every form has <p class="error" data-error-for="field"> beside each field and one
// for "form". A field without its own slot reports on the form's.
export function clearErrors(form) {
  for (const slot of $$("[data-error-for]", form)) show(slot, "");
  for (const field of $$("[aria-invalid]", form)) field.removeAttribute("aria-invalid");
}

export function showError(form, field, message) {
  const slot = $(`[data-error-for="${field}"]`, form) || $('[data-error-for="form"]', form);
  show(slot, message);
  const describedField = slot.id && $(`[aria-describedby~="${slot.id}"]`, form);
  if (describedField) describedField.setAttribute("aria-invalid", "true");
  return describedField || slot;
}

// A field's message goes as soon as the person fixes the field (types in it, picks an option, ticks
// the box): a message about what is already right reads as a new error.
function fieldFixed(event) {
  const field = event.target;
  if (!(field instanceof Element) || field.getAttribute("aria-invalid") !== "true") return;
  if (field.type === "checkbox" && !field.checked) return;
  for (const id of (field.getAttribute("aria-describedby") || "").split(/\s+/)) {
    const slot = id && document.getElementById(id);
    if (slot?.hasAttribute("data-error-for")) show(slot, "");
  }
  field.removeAttribute("aria-invalid");
}
document.addEventListener("input", fieldFixed);
document.addEventListener("change", fieldFixed);

export function focusFirstError(form) {
  const invalid = $('[aria-invalid="true"]', form);
  if (invalid) invalid.focus();
  else $$("[data-error-for]", form).find((slot) => !slot.hidden)?.scrollIntoView({ block: "nearest" });
}

export function busy(button, isBusy) {
  button.disabled = isBusy;
  button.setAttribute("aria-busy", String(isBusy));
}

// A menu button (WAI-ARIA menu button pattern): Enter, Space or Down opens it on the first item, Up on
// the last; arrows, Home and End move; Escape closes it and returns to its button; Tab closes it.
const openMenus = new Set();

export function closeMenus(except) {
  for (const menu of openMenus) if (menu !== except) menu.close(false);
}

export function menuButton(button, list, onChoose) {
  const items = () => $$('[role="menuitem"]', list);
  const menu = {
    get isOpen() { return !list.hidden; },
    open(focusIndex = 0) {
      closeMenus(menu);
      list.hidden = false;
      placeMenu(list);
      button.setAttribute("aria-expanded", "true");
      openMenus.add(menu);
      const all = items();
      all[(focusIndex + all.length) % all.length]?.focus();
    },
    close(returnFocus = true) {
      if (list.hidden) return;
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      openMenus.delete(menu);
      if (returnFocus) button.focus();
    },
  };
  button.addEventListener("click", () => (menu.isOpen ? menu.close() : menu.open()));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); menu.open(0); }
    if (event.key === "ArrowUp") { event.preventDefault(); menu.open(-1); }
  });
  list.addEventListener("keydown", (event) => {
    const all = items();
    const at = all.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      all[(moves[event.key] + all.length) % all.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      menu.close();
    } else if (event.key === "Tab") {
      menu.close(); // back on its button, from where Tab moves on as usual
    }
  });
  list.addEventListener("click", (event) => {
    const item = event.target.closest('[role="menuitem"]');
    if (!item) return;
    menu.close(false);
    onChoose(item.dataset.command, item);
  });
  return menu;
}

// Open upwards when the menu would run past the bottom of its box (or the window) and fits above.
function placeMenu(list) {
  list.classList.remove("menu-up");
  const menu = list.getBoundingClientRect();
  const container = list.closest("dialog")?.getBoundingClientRect();
  const bottom = Math.min(window.innerHeight, container ? container.bottom : Infinity);
  const top = Math.max(0, container ? container.top : 0);
  const button = list.parentElement.getBoundingClientRect();
  if (menu.bottom > bottom && button.top - menu.height > top) list.classList.add("menu-up");
}

document.addEventListener("click", (event) => {
  for (const menu of openMenus) {
    if (!event.target.closest(".menu-anchor")) menu.close(false);
  }
});

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), '
  + 'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusables(root) {
  return $$(FOCUSABLE, root).filter((node) => node.getClientRects().length > 0 && !node.closest("[hidden]"));
}

// A modal box that keeps keyboard focus inside itself, closes on Escape and gives focus back to what
// opened it. showModal() already makes the page behind inert; the Tab wrap keeps focus out of the
// browser's own toolbar too, and Escape is handled here so an open menu closes before the box does.
export function modal(dialog, { onClose } = {}) {
  let opener = null;
  const box = {
    get isOpen() { return dialog.open; },
    open() {
      if (!dialog.open) {
        opener = document.activeElement;
        dialog.showModal();
      }
    },
    close({ restoreFocus = true } = {}) {
      if (!dialog.open) return;
      closeMenus();
      dialog.close();
      onClose?.();
      if (restoreFocus && opener && document.contains(opener)) opener.focus();
      opener = null;
    },
  };
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      if (openMenus.size) closeMenus();
      else box.close();
    } else if (event.key === "Tab") {
      const all = focusables(dialog);
      if (!all.length) return;
      const at = all.indexOf(document.activeElement);
      const wrapTo = event.shiftKey ? (at <= 0 ? all[all.length - 1] : null) : (at === all.length - 1 ? all[0] : null);
      if (at === -1) {
        // On the heading (focused when the box opens) or on nothing: step to the box's first or last stop.
        event.preventDefault();
        (event.shiftKey ? all[all.length - 1] : all[0]).focus();
      } else if (wrapTo) {
        event.preventDefault();
        wrapTo.focus();
      }
    }
  });
  // Belt and braces: a close request that did not come through keydown (e.g. a platform gesture).
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    box.close();
  });
  return box;
}
