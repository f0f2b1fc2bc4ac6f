// A "Copy" button beside a value shown only once (a new API token). The value
// sits in a read-only field anyone can select and copy without JavaScript;
// this only saves the selecting. The Clipboard API needs a secure context
// (HTTPS, or http://127.0.0.1 for the demo): without it, no button.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) return;

  document.querySelectorAll("input[data-copy]").forEach(function (field) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small";
    button.textContent = "Copy";
    // Read out after the click, inside the page's status message.
    const said = document.createElement("span");
    said.className = "copy-status";
    field.after(button, said);

    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
        said.textContent = "The token is on your clipboard.";
      } catch (error) {
        // Refused (permissions, an old browser): leave it selected to copy by hand.
        field.focus();
        field.select();
        said.textContent = "Press Ctrl+C (⌘C on a Mac) to copy it.";
      }
    });
  });
})();
