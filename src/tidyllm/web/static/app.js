// TidyLLM web UI: what every page shares. No inline scripts anywhere (the CSP forbids them).
// A refused htmx request (403, 404, 409...) shows its message in the page's notice area
// as plain text; the response is parsed into an inert document, never inserted as HTML.
(function () {
  "use strict";

  function notify(text, isError) {
    var notice = document.getElementById("notice");
    if (!notice) return;
    notice.textContent = text;
    notice.classList.toggle("error", Boolean(isError));
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var text = (doc.body && doc.body.textContent || "").trim();
    notify(text || "The request failed (HTTP " + xhr.status + ").", true);
  });

  document.addEventListener("htmx:sendError", function () {
    notify("The server did not answer; check the connection and try again.", true);
  });

  window.tidyllm = { notify: notify };
})();
