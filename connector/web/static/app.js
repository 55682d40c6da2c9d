// Pontis admin console: the little behaviour the pages need. No inline script anywhere (the CSP
// forbids it); everything hangs off data- attributes. The pages work without this file, except
// the live policy check.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// assets: show the inputs for the chosen kind of data
function syncKinds(form) {
  const chosen = form.querySelector("input[name=kind]:checked");
  if (!chosen) return;
  form.querySelectorAll("[data-kind]").forEach((block) => {
    block.hidden = !block.dataset.kind.split(" ").includes(chosen.value);
  });
}
document.querySelectorAll("[data-kind-switch]").forEach((switcher) => {
  const form = switcher.closest("form");
  switcher.addEventListener("change", () => syncKinds(form));
  syncKinds(form);
});

// the policy editor: every field is named by its field path; the server checks, we place the errors
const editor = document.getElementById("policy-editor");
if (editor) {
  const problemsList = document.getElementById("problems");
  const preview = document.getElementById("preview");
  const validity = document.getElementById("validity");
  let timer = null;
  let sequence = 0;

  const fields = () => {
    const out = {};
    new FormData(editor).forEach((value, name) => {
      if (name !== "csrf" && name !== "template" && name !== "policy_id" && name !== "editing" && typeof value === "string") out[name] = value;
    });
    return out;
  };

  const slot = (path) => {
    // the problem's own field, else the nearest enclosing row or rule, else the policy as a whole
    let p = path || "";
    for (;;) {
      const found = editor.querySelector(`[data-errors-for="${CSS.escape(p)}"]`);
      if (found || p === "") return found;
      p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
    }
  };

  const show = (problems) => {
    editor.querySelectorAll("[data-errors-for]").forEach((el) => { el.replaceChildren(); });
    editor.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    problemsList.replaceChildren();
    problems.forEach((p) => {
      const text = `${p.found}; expected ${p.expected}`;
      const target = slot(p.path);
      if (target) {
        const line = document.createElement("p");
        line.className = "field-error";
        line.setAttribute("role", "alert");
        line.textContent = text;
        target.appendChild(line);
      }
      const input = editor.querySelector(`input[data-path="${CSS.escape(p.path || "")}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = p.path || "(policy)";
      item.append(code, " " + text);
      problemsList.appendChild(item);
    });
    if (!problems.length) {
      const item = document.createElement("li");
      item.className = "muted";
      item.textContent = "None found.";
      problemsList.appendChild(item);
    }
    const badge = document.createElement("span");
    badge.className = problems.length ? "badge bad" : "badge ok";
    badge.textContent = problems.length ? `${problems.length} problem(s)` : "valid";
    validity.replaceChildren(badge);
  };

  const check = async () => {
    const mine = ++sequence;
    try {
      const response = await fetch(editor.dataset.validate, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": editor.dataset.csrf },
        body: JSON.stringify({ fields: fields() }),
      });
      if (mine !== sequence) return; // a newer check is on its way
      if (response.status === 401) { window.location.href = "/ui/login?next=/ui/policies/new"; return; }
      const answer = await response.json();
      if (!response.ok) { show([{ path: "", found: answer.error || `HTTP ${response.status}`, expected: "a policy the server can read" }]); return; }
      preview.textContent = JSON.stringify(answer.policy, null, 2);
      show(answer.problems);
    } catch (error) {
      validity.textContent = "could not check: " + error;
    }
  };

  const soon = () => { clearTimeout(timer); timer = setTimeout(check, 250); };
  editor.addEventListener("input", soon);

  editor.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-row]");
    if (remove) { remove.closest(".row").remove(); soon(); return; }
    const add = event.target.closest("[data-add-row]");
    if (!add) return;
    const rows = add.closest("fieldset").querySelectorAll(".row.constraint");
    const last = rows[rows.length - 1];
    if (!last) return;
    const match = /^(.*)\[(\d+)\]$/.exec(last.dataset.path);
    if (!match) return;
    let next = 0;
    rows.forEach((row) => {
      const m = /^(.*)\[(\d+)\]$/.exec(row.dataset.path);
      if (m && m[1] === match[1]) next = Math.max(next, Number(m[2]) + 1);
    });
    const prefix = `${match[1]}[${next}]`;
    const copy = last.cloneNode(true);
    copy.dataset.path = prefix;
    copy.querySelectorAll("[data-errors-for]").forEach((el) => {
      el.dataset.errorsFor = prefix + el.dataset.errorsFor.slice(last.dataset.path.length);
      el.replaceChildren();
    });
    copy.querySelectorAll("input").forEach((input) => {
      const part = input.name.slice(last.dataset.path.length);
      input.name = prefix + part;
      input.dataset.path = prefix + part;
      input.value = "";
      input.removeAttribute("aria-invalid");
    });
    last.after(copy);
    copy.querySelector("input").focus();
  });
}
