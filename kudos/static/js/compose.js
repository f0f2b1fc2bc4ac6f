// The compose page, enhanced: a live character count (and a word when a
// paste is cut to fit), recipient suggestions as you type (at most 10
// people), a preview that follows the choices, and the chosen people kept
// when the browser comes back to the page. Without JavaScript the "Search"
// button and the server-rendered page do the same job.
(function () {
  "use strict";

  const form = document.querySelector("form[data-compose]");
  if (!form) return;

  // Live character count, and pastes cut to fit --------------------------------
  const counter = form.querySelector("[data-count-for]");
  const message = counter && document.getElementById(counter.dataset.countFor);
  const pasteNote = form.querySelector("[data-paste-note]");
  if (message) {
    const limit = Number(message.getAttribute("maxlength")) || 1000;
    const update = function () {
      const used = message.value.trim().length;
      const left = limit - used;
      counter.textContent = left >= 0
        ? used + " / " + limit + " characters"
        : Math.abs(left) + " characters too many";
      counter.classList.toggle("field__count--over", left < 0);
      // The note stays until there is room again.
      if (pasteNote && message.value.length < limit) pasteNote.textContent = "";
    };
    message.addEventListener("input", update);
    // The box silently drops what goes past its maxlength: say so.
    message.addEventListener("paste", function (event) {
      const pasted = (event.clipboardData || window.clipboardData).getData("text")
        .replace(/\r\n?/g, "\n");
      const kept = message.value.length - (message.selectionEnd - message.selectionStart);
      const cut = kept + pasted.length - limit;
      if (cut > 0 && pasteNote) {
        setTimeout(function () {
          pasteNote.textContent = "Your pasted text was cut to fit the " + limit.toLocaleString("en")
            + "-character limit: the last " + cut.toLocaleString("en") + " character"
            + (cut === 1 ? " was" : "s were") + " left out.";
        });
      }
    });
    update();
  }

  // Recipient suggestions ---------------------------------------------------
  const chips = form.querySelector("[data-recipient-chips]");
  const input = form.querySelector("[data-recipient-search] input");
  const list = form.querySelector("[data-suggestions]");
  const limitNote = form.querySelector("[data-recipient-limit]");
  if (!chips || !input || !list) return;
  const maxRecipients = Number(chips.dataset.max) || 10;
  let active = -1;
  let timer = null;
  let lastQuery = "";

  function chosenIds() {
    return Array.from(chips.querySelectorAll("input[name=recipients]")).map((el) => el.value);
  }

  function full() {
    return chosenIds().length >= maxRecipients;
  }

  function sayFull() {
    if (limitNote) {
      limitNote.textContent = "You can thank up to " + maxRecipients + " people in one kudos. "
        + "Remove someone to add another.";
    }
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
    if (chosenIds().includes(String(person.id))) return true;
    if (full()) { sayFull(); return false; }
    const item = document.createElement("li");
    item.className = "recipient-chip";
    item.dataset.name = person.name;
    item.dataset.initials = person.initials;
    const hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "recipients";
    hidden.value = person.id;
    const name = document.createElement("span");
    name.dir = "auto";
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
    return true;
  }

  // The chosen people, kept in this page's history entry: when the browser
  // comes back to the page (Back after sending, or a reload), it restores
  // what was typed and ticked, and this puts the people back beside it.
  function chosenPeople() {
    return Array.from(chips.querySelectorAll(".recipient-chip")).map(function (chip) {
      return {
        id: Number(chip.querySelector("input[name=recipients]").value),
        name: chip.dataset.name,
        initials: chip.dataset.initials,
      };
    });
  }

  function remember() {
    history.replaceState(Object.assign({}, history.state, { recipients: chosenPeople() }), "");
  }

  function restore() {
    const kept = history.state && history.state.recipients;
    if (!Array.isArray(kept)) return false;
    const wanted = kept.map((person) => String(person.id));
    chips.querySelectorAll(".recipient-chip").forEach(function (chip) {
      if (!wanted.includes(chip.querySelector("input[name=recipients]").value)) chip.remove();
    });
    kept.forEach(addChip);
    return true;
  }

  // Who will see it, the choices the recipients' wishes override, and how
  // each recipient likes to be recognised: rendered by the server (one
  // source of truth), refreshed as choices change.
  const preview = form.querySelector("[data-preview]");
  async function refreshPreview() {
    remember();
    const params = new URLSearchParams();
    chosenIds().forEach((id) => params.append("recipients", id));
    const checked = form.querySelector("input[name=visibility]:checked");
    params.set("visibility", checked ? checked.value : "public");
    const response = await fetch("/kudos/new/preview?" + params, { credentials: "same-origin" });
    if (!response.ok) return;
    const answer = document.createElement("div");
    answer.innerHTML = await response.text();
    const outcome = answer.querySelector("[data-visibility-note]");
    const place = form.querySelector("[data-visibility-outcome]");  // a live region: said aloud
    if (outcome) {
      outcome.remove();
      if (place) place.replaceChildren(outcome);
    }
    form.querySelectorAll("[data-visibility-choice]").forEach(function (choice) {
      const why = outcome && outcome.getAttribute("data-overridden-" + choice.dataset.visibilityChoice);
      const marker = choice.querySelector("[data-overridden]");
      choice.classList.toggle("visibility-choice--overridden", Boolean(why));
      if (marker) {
        marker.textContent = why || "";
        marker.hidden = !why;
      }
    });
    if (preview) preview.innerHTML = chosenIds().length ? answer.innerHTML.trim() : "";
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "visibility" || event.target.name === "recipients") refreshPreview();
  });

  chips.addEventListener("click", function (event) {
    const remove = event.target.closest(".recipient-chip__remove");
    if (!remove) return;
    event.preventDefault();
    remove.closest(".recipient-chip").remove();
    if (limitNote && !full()) limitNote.textContent = "";
    refreshPreview();
    input.focus();
  });

  function choose(index) {
    const option = list.children[index];
    if (!option) return;
    if (!addChip(JSON.parse(option.dataset.person))) { close(); return; }
    if (full() && limitNote) {
      limitNote.textContent = "That's " + maxRecipients + " people, the most one kudos can thank. "
        + "Remove someone to add another.";
    }
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
    if (full()) { close(); sayFull(); lastQuery = ""; return; }
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
      strong.dir = "auto";
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

  // Coming back to the page --------------------------------------------------
  // The page is never stored (Cache-Control: no-store), so Back loads it
  // afresh, with a new key for a new kudos, and the browser fills the
  // message and ticks back in: put the people back too.
  if (restore()) refreshPreview();
  // A browser that kept the page anyway (back/forward cache) kept the key
  // of the kudos just sent: a new key makes the next Send a new kudos.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    const key = form.querySelector("input[name=idempotency_key]");
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    if (key) key.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  });
})();
