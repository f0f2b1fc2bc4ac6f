// Small enhancements for every page. Everything works without JavaScript;
// this only saves a page reload when applauding a kudos.
(function () {
  "use strict";

  document.addEventListener("submit", async function (event) {
    const form = event.target.closest("form[data-reaction]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "X-CSRFToken": form.elements.csrf_token.value },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(response.statusText);
      const result = await response.json();
      button.setAttribute("aria-pressed", result.reacted ? "true" : "false");
      const count = form.querySelector("[data-reaction-count]");
      count.textContent = result.count;
      count.hidden = result.count === 0;  // no "0" before the first applause
      const label = button.querySelector(".visually-hidden");
      if (label) {
        label.textContent = (result.reacted ? "Remove your applause" : "Applaud")
          + (result.count ? " (" + result.count + " so far)" : "");
      }
    } catch (error) {
      form.submit();  // fall back to the plain form
    } finally {
      button.disabled = false;
    }
  });
})();

// Celebrations: a close button, and a fanfare that only plays when asked.
(function () {
  "use strict";
  document.querySelectorAll("[data-celebration]").forEach(function (box) {
    box.querySelectorAll("[data-dismiss], [data-fanfare]").forEach((el) => { el.hidden = false; });
    box.addEventListener("click", function (event) {
      if (event.target.closest("[data-dismiss]")) box.remove();
      if (event.target.closest("[data-fanfare]")) playFanfare();
    });
  });

  // A short "ta-ta-ta-taaa" made with the Web Audio API: no sound file to load.
  function playFanfare() {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    const audio = new AudioContext();
    const notes = [[523.25, 0, 0.14], [523.25, 0.16, 0.14], [523.25, 0.32, 0.14], [659.25, 0.48, 0.6]];
    notes.forEach(function ([frequency, start, length]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "triangle";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, audio.currentTime + start);
      gain.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + start + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(audio.currentTime + start);
      oscillator.stop(audio.currentTime + start + length + 0.05);
    });
  }
})();

// Suggestions for a typed-in filter (the leaderboard's team): the page lists
// a few; as the person types, the server's matches replace them.
(function () {
  "use strict";
  document.querySelectorAll("input[data-suggest-url][list]").forEach(function (input) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      const typed = input.value.trim();
      if (!typed) return;
      timer = setTimeout(async function () {
        const url = input.dataset.suggestUrl + "?q=" + encodeURIComponent(typed);
        try {
          const response = await fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
          if (!response.ok) return;
          const names = await response.json();
          list.replaceChildren(...names.map(function (name) {
            const option = document.createElement("option");
            option.value = name;
            return option;
          }));
        } catch (error) {
          // Suggestions are a convenience: typing the whole name still works.
        }
      }, 150);
    });
  });
  // The account menu (a <details>, so it works without JavaScript) closes
  // on Escape, giving focus back to its button, and on a click elsewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const menu = document.querySelector("details.account-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  document.addEventListener("click", function (event) {
    const menu = document.querySelector("details.account-menu[open]");
    if (menu && !menu.contains(event.target)) menu.open = false;
  });
})();
