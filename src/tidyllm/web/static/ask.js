// TidyLLM ask and chat pages. The ask form streams: fetch() posts the question and reads
// the server-sent events (EventSource cannot POST) - progress stages, then the answer as
// HTML rendered and escaped by the server's templates, or an error shown as text. Without
// fetch streaming the form posts as a plain form and the page comes back whole.
// A citation link [n] opens its passage below the answer.
(function () {
  "use strict";

  var csrf = document.body.dataset.csrf || "";

  function openCitation(id) {
    var target = document.getElementById(id);
    if (!target || target.tagName !== "DETAILS") return false;
    target.open = true;
    var summary = target.querySelector("summary");
    if (summary) summary.focus();
    target.scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.cite") : null;
    if (!link) return;
    var id = (link.getAttribute("href") || "").slice(1);
    if (openCitation(id)) event.preventDefault();
  });

  // the chat form: empty it after its turn was added (htmx posts it)
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "chat-form" && event.detail.successful) {
      form.reset();
      var turns = document.querySelectorAll("#conversation > .turn");
      if (turns.length) turns[turns.length - 1].scrollIntoView({ block: "start" });
      form.querySelector("textarea").focus();
    }
  });

  var form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.ReadableStream || !window.TextDecoder) return;
  var progress = document.getElementById("progress");
  var area = document.getElementById("answer");
  var button = form.querySelector("button[type=submit]");

  function showError(message, hint) {
    area.textContent = "";
    var box = document.createElement("div");
    box.className = "error";
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    if (hint) {
      var h = document.createElement("p");
      h.className = "hint";
      h.textContent = hint;
      box.appendChild(h);
    }
    area.appendChild(box);
  }

  function handle(name, data) {
    if (name === "progress") {
      progress.textContent = data.label || data.stage;
    } else if (name === "html") {
      area.innerHTML = data.html; // rendered by the server's autoescaping templates
    } else if (name === "error") {
      var err = data.error || {};
      showError(err.message || "The answer failed.", err.hint);
    }
  }

  function parse(block) {
    var name = "message";
    var data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
    });
    if (!data) return; // a keep-alive comment
    handle(name, JSON.parse(data));
  }

  async function send() {
    var body = new URLSearchParams(new FormData(form));
    var response = await fetch(form.dataset.stream, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "text/event-stream" },
      body: body,
      credentials: "same-origin",
    });
    var type = response.headers.get("content-type") || "";
    if (response.status === 401 || (response.redirected && type.indexOf("text/html") === 0)) {
      // the session ended: the log-in page, then back here
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    if (!response.ok || !response.body) {
      var doc = new DOMParser().parseFromString(await response.text(), "text/html");
      var message = doc.getElementById("error-message");
      var hint = doc.querySelector(".error .hint");
      showError(
        message ? message.textContent : "The request failed (HTTP " + response.status + ").",
        hint ? hint.textContent : ""
      );
      return;
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    if (buffer.trim()) parse(buffer);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    button.disabled = true;
    area.setAttribute("aria-busy", "true");
    progress.textContent = "Sending the question…";
    send()
      .catch(function () {
        showError("The server did not answer; check the connection and try again.");
      })
      .finally(function () {
        button.disabled = false;
        area.removeAttribute("aria-busy");
        progress.textContent = "";
      });
  });
})();
