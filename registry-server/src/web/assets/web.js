// mcp-reg pages: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: shown only when the script runs.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });

  // Search as you type: the results list is replaced in place, stale requests are cancelled, and the
  // address bar follows the query (so back, reload and sharing keep working).
  var form = document.querySelector("form[data-live]");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.AbortController) return;
  var DEBOUNCE_MS = 25;
  var timer = 0;
  var controller = null;

  function queryString(extra) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "") params.append(key, value);
    });
    if (extra) params.set(extra, "1");
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function update() {
    if (controller) controller.abort();
    controller = new AbortController();
    var started = performance.now();
    var action = form.getAttribute("action");
    results.setAttribute("aria-busy", "true");
    fetch(action + queryString("fragment"), {
      signal: controller.signal,
      headers: { Accept: "text/html" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.text();
    }).then(function (html) {
      results.innerHTML = html;
      results.setAttribute("aria-busy", "false");
      results.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
      history.replaceState(null, "", action + queryString());
      results.setAttribute("data-latency-ms", String(Math.round(performance.now() - started)));
    }).catch(function (error) {
      if (error.name === "AbortError") return;
      results.setAttribute("aria-busy", "false");
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    update();
  });
  window.addEventListener("popstate", function () { location.reload(); });
})();
