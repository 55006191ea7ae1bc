// Test Connection in place: posts the form with fetch, shows "Testing...", and puts the
// result where the page would show it after a reload. Without JavaScript the form posts normally.
(function () {
  "use strict";

  function replaceRegion(form, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    ["result-region", "field-errors", "actions"].forEach(function (cls) {
      var fresh = doc.querySelector("." + cls);
      var current = form.querySelector("." + cls);
      if (fresh && current) { current.innerHTML = fresh.innerHTML; }
    });
    var input = form.querySelector(".token-input");
    var invalid = doc.querySelector(".token-input[aria-invalid]");
    if (input) {
      if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    }
  }

  // The region's content was replaced and the pressed button with it: without this, keyboard focus
  // would fall back to <body>. The result is focusable (tabindex=-1) and still announced by its role.
  function focusOutcome(form) {
    var target = form.querySelector(".result-region .result") ||
      form.querySelector(".token-input[aria-invalid]") || form.querySelector("button.js-test");
    if (target) { target.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.js-test");
    if (!button) { return; }
    var form = button.form;
    if (!form || !window.fetch) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.set("action", "test");
    var label = button.textContent;
    button.textContent = "Testing…";
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    var region = form.querySelector(".result-region");
    if (region) { region.innerHTML = '<p class="muted">Testing the token against Azure DevOps…</p>'; }
    // form.action would be the buttons named "action"; read the attribute.
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST",
      body: data,
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, status: response.status, text: text }; });
    }).then(function (result) {
      if (result.ok) {
        replaceRegion(form, result.text);
      } else if (region) {
        region.innerHTML = '<div class="result result-bad" role="alert" tabindex="-1"><p>The test could not run (HTTP ' +
          result.status + '). Reload the page and try again.</p></div>';
      }
    }).catch(function () {
      if (region) {
        region.innerHTML = '<div class="result result-bad" role="alert" tabindex="-1"><p>The test could not reach almlink. ' +
          'Check your network and try again.</p></div>';
      }
    }).finally(function () {
      button.textContent = label;
      button.removeAttribute("aria-busy");
      button.disabled = false;
      focusOutcome(form);
    });
  });
}());
