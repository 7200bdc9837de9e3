// The checkout page. Pay checks what is missing first, with the server's own plain messages (each input's
// data-missing) under the field at fault, so that an empty field never becomes a page in the history;
// then Pay shows it is busy and cannot be pressed twice. Loaded as a file: the CSP forbids inline scripts.
const form = document.getElementById("pay-form");
const button = document.getElementById("pay-button");

function wrong(input) {
  const value = input.value.trim();
  if (!value) return true;
  if (input.name === "exp_month") return !/^\d{1,2}$/.test(value) || +value < 1 || +value > 12;
  if (input.name === "exp_year") return !/^(\d{2}|\d{4})$/.test(value);
  return false;
}

function show(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!message) {
    if (note) note.remove();
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    return;
  }
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error";
    note.id = id;
    input.insertAdjacentElement("afterend", note);
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
}

function check() {
  const inputs = [...form.querySelectorAll("input[data-missing]")];
  let first = null;
  for (const input of inputs) {
    const bad = wrong(input);
    show(input, bad ? input.dataset.missing : "");
    if (bad && !first) first = input;
  }
  return first;
}

if (form && button) {
  const label = button.textContent;
  form.addEventListener("submit", (event) => {
    if (button.disabled) {
      event.preventDefault();
      return;
    }
    const first = check();
    if (first) {
      event.preventDefault();
      first.focus();
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.busyLabel || "Paying…";
  });
  // A message goes once its field is fixed.
  form.addEventListener("input", (event) => {
    const input = event.target;
    if (input.dataset && input.dataset.missing && input.getAttribute("aria-invalid") && !wrong(input)) show(input, "");
  });
  // Back to this page from the browser's cache: Pay is ready again.
  window.addEventListener("pageshow", () => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  });
}

const retry = document.getElementById("try-another");
const number = document.getElementById("card_number");
if (retry && number) {
  retry.addEventListener("click", (event) => {
    event.preventDefault();
    number.focus();
    number.scrollIntoView({ block: "center" });
  });
}
const firstInvalid = document.querySelector('[aria-invalid="true"]');
if (firstInvalid) firstInvalid.focus();
