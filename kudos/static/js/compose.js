// The compose page, enhanced: a live character count and recipient
// suggestions as you type. Without JavaScript the "Search" button and the
// server-rendered matches do the same job.
(function () {
  "use strict";

  const form = document.querySelector("form[data-compose]");
  if (!form) return;

  // Live character count ----------------------------------------------------
  const counter = form.querySelector("[data-count-for]");
  const message = counter && document.getElementById(counter.dataset.countFor);
  if (message) {
    const limit = Number(message.getAttribute("maxlength")) || 1000;
    const update = function () {
      const used = message.value.trim().length;
      const left = limit - used;
      counter.textContent = left >= 0
        ? used + " / " + limit + " characters"
        : Math.abs(left) + " characters too many";
      counter.classList.toggle("field__count--over", left < 0);
    };
    message.addEventListener("input", update);
    update();
  }

  // Recipient suggestions ---------------------------------------------------
  const chips = form.querySelector("[data-recipient-chips]");
  const input = form.querySelector("[data-recipient-search] input");
  const list = form.querySelector("[data-suggestions]");
  if (!chips || !input || !list) return;
  let active = -1;
  let timer = null;
  let lastQuery = "";

  function chosenIds() {
    return Array.from(chips.querySelectorAll("input[name=recipients]")).map((el) => el.value);
  }

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function avatar(person) {
    const span = document.createElement("span");
    span.className = "avatar avatar--small";
    span.setAttribute("aria-hidden", "true");
    span.dataset.hue = String(person.id % 8);
    span.textContent = person.initials;
    return span;
  }

  function addChip(person) {
    if (chosenIds().includes(String(person.id))) return;
    const item = document.createElement("li");
    item.className = "recipient-chip";
    const hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "recipients";
    hidden.value = person.id;
    const name = document.createElement("span");
    name.textContent = person.name;
    const remove = document.createElement("button");
    remove.type = "submit";
    remove.name = "action";
    remove.value = "remove:" + person.id;
    remove.className = "recipient-chip__remove";
    remove.setAttribute("aria-label", "Remove " + person.name);
    remove.textContent = "×";
    item.append(hidden, avatar(person), " ", name, remove);
    chips.append(item);
  }

  // How the chosen people like to be recognised, and who will see the kudos:
  // rendered by the server (one source of truth), refreshed as choices change.
  const preview = form.querySelector("[data-preview]");
  const note = form.querySelector("[data-visibility-note]");
  async function refreshPreview() {
    const params = new URLSearchParams();
    chosenIds().forEach((id) => params.append("recipients", id));
    const checked = form.querySelector("input[name=visibility]:checked");
    params.set("visibility", checked ? checked.value : "public");
    const response = await fetch("/kudos/new/preview?" + params, { credentials: "same-origin" });
    if (!response.ok) return;
    const html = await response.text();
    if (preview) preview.innerHTML = chosenIds().length ? html : "";
    const sentence = preview && preview.querySelector(".visibility-preview");
    if (note) {
      note.textContent = chosenIds().length && sentence
        ? sentence.textContent.trim().replace(/^\S+\s/, "")
        : "If someone you thank prefers more privacy, their choice wins.";
    }
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "visibility" || event.target.name === "recipients") refreshPreview();
  });

  chips.addEventListener("click", function (event) {
    const remove = event.target.closest(".recipient-chip__remove");
    if (!remove) return;
    event.preventDefault();
    remove.closest(".recipient-chip").remove();
    refreshPreview();
    input.focus();
  });

  function choose(index) {
    const option = list.children[index];
    if (!option) return;
    addChip(JSON.parse(option.dataset.person));
    refreshPreview();
    input.value = "";
    close();
    input.focus();
  }

  function highlight(index) {
    Array.from(list.children).forEach((option, i) => {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    const option = list.children[index];
    if (option) input.setAttribute("aria-activedescendant", option.id);
  }

  async function suggest() {
    const query = input.value.trim();
    if (query === lastQuery) return;
    lastQuery = query;
    if (query.length < 1) { close(); return; }
    const response = await fetch("/people/suggest?q=" + encodeURIComponent(query), {
      headers: { "Accept": "application/json" }, credentials: "same-origin",
    });
    if (!response.ok || input.value.trim() !== query) return;
    const people = (await response.json()).filter((p) => !chosenIds().includes(String(p.id)));
    list.innerHTML = "";
    people.forEach(function (person, index) {
      const option = document.createElement("li");
      option.id = "suggestion-" + person.id;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.person = JSON.stringify(person);
      const text = document.createElement("span");
      const strong = document.createElement("strong");
      strong.textContent = person.name;
      text.append(strong);
      if (person.detail) {
        const detail = document.createElement("span");
        detail.className = "suggestion__detail";
        detail.textContent = " · " + person.detail;
        text.append(detail);
      }
      option.append(avatar(person), text);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
      list.append(option);
    });
    list.hidden = people.length === 0;
    input.setAttribute("aria-expanded", people.length ? "true" : "false");
    active = -1;
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  input.addEventListener("keydown", function (event) {
    const count = list.children.length;
    if (event.key === "ArrowDown" && count) {
      event.preventDefault();
      highlight((active + 1) % count);
    } else if (event.key === "ArrowUp" && count) {
      event.preventDefault();
      highlight((active - 1 + count) % count);
    } else if (event.key === "Enter") {
      // Enter picks a suggestion instead of submitting the whole form.
      if (!list.hidden && count) {
        event.preventDefault();
        choose(active >= 0 ? active : 0);
      } else if (input.value.trim()) {
        event.preventDefault();
        form.querySelector("[data-search-button]").click();
      }
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
