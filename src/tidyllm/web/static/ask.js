// TidyLLM ask and chat pages. A form with data-stream (the ask form, the chat form) is sent
// with fetch() and its server-sent events are read as they arrive (EventSource cannot
// POST): progress stages; delta, the model's draft while a remote LLM writes it, appended
// as text to a box marked as a draft; then html, the checked answer rendered and escaped by
// the server's templates, which replaces the draft; or error, shown as text. Without fetch
// streaming the ask form posts as a plain form (the page comes back whole) and the chat
// form through htmx (its turn fragment). A citation link [n] opens its passage.
// A request refused before its stream starts (a bad filter value: 400 with the server's
// error page) shows that page's message: on the ask page in the answer area, on the chat
// page under the form, where the question and the filter fields stay as typed (no turn was
// added). After a turn only the question is emptied: the filter fields keep their values
// for the next turn (the server applies them to each turn they are sent with).
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

  // the chat form without fetch streaming: empty it after htmx added its turn
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "chat-form" && event.detail.successful) chatSent(form);
  });

  function chatSent(form) {
    form.querySelector("textarea").value = ""; // the filter fields stay for the next turn
    var refused = document.getElementById("chat-error");
    if (refused) refused.replaceChildren();
    var turns = document.querySelectorAll("#conversation > .turn");
    if (turns.length) turns[turns.length - 1].scrollIntoView({ block: "start" });
    form.querySelector("textarea").focus();
  }

  if (!window.fetch || !window.ReadableStream || !window.TextDecoder) return;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // rendered by the server's autoescaping templates
    return template.content;
  }

  function errorBox(message, hint) {
    var box = element("div", "error");
    box.setAttribute("role", "alert");
    box.appendChild(element("p", "", message));
    if (hint) box.appendChild(element("p", "hint", hint));
    return box;
  }

  function draftBox() {
    var box = element("div", "draft");
    box.setAttribute("aria-live", "polite");
    box.appendChild(element("p", "draft-label", "Drafting… the citations are checked when the answer is complete."));
    box.appendChild(element("p", "answer-text draft-text"));
    return box;
  }

  // Where an answer goes: show(node) puts a draft or an error there, done(data) the answer.
  function answerSlot(area) {
    return {
      show: function (node) { area.replaceChildren(node); },
      refuse: function (node) { area.replaceChildren(node); },
      done: function (data) { area.replaceChildren(fragment(data.html)); },
    };
  }

  // A chat turn: the question at once, then the draft under it, then the server's turn in
  // its place and the title and sidebar (data.replace) swapped for theirs by id.
  function turnSlot(list, question) {
    var turn = element("li", "turn");
    var asked = element("p", "question");
    asked.appendChild(element("span", "visually-hidden", "You asked: "));
    asked.appendChild(element("span", "question-text", question));
    var body = element("div");
    turn.appendChild(asked);
    turn.appendChild(body);
    list.appendChild(turn);
    turn.scrollIntoView({ block: "start" });
    return {
      show: function (node) { body.replaceChildren(node); },
      // refused before any answer: no turn was added, so none is shown; the message goes
      // under the form
      refuse: function (node) {
        var under = document.getElementById("chat-error");
        if (!under) return body.replaceChildren(node);
        turn.remove();
        under.replaceChildren(node);
        node.scrollIntoView({ block: "nearest" });
      },
      done: function (data) {
        turn.replaceWith(fragment(data.html));
        (data.replace || []).forEach(function (html) {
          var node = fragment(html).firstElementChild;
          var old = node && node.id ? document.getElementById(node.id) : null;
          if (old) old.replaceWith(node);
        });
      },
    };
  }

  function handler(slot, status) {
    var draft = null;
    return function (name, data) {
      if (name === "progress") {
        status.textContent = data.label || data.stage;
      } else if (name === "delta") {
        if (!draft) slot.show((draft = draftBox()));
        draft.lastChild.textContent += data.text; // the model's raw text, as text
      } else if (name === "html") {
        slot.done(data);
      } else if (name === "error") {
        var err = data.error || {};
        slot.show(errorBox(err.message || "The answer failed.", err.hint));
      }
    };
  }

  function parse(block, handle) {
    var name = "message";
    var data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
    });
    if (data) handle(name, JSON.parse(data)); // no data: a keep-alive comment
  }

  // true when the stream was read to its end (an answer or an error event), false when the
  // request was refused before it (the log-in page, an error page)
  async function send(form, body, handle, slot) {
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
      return false;
    }
    if (!response.ok || !response.body) {
      var doc = new DOMParser().parseFromString(await response.text(), "text/html");
      var message = doc.getElementById("error-message");
      var hint = doc.querySelector(".error .hint");
      slot.refuse(errorBox(
        message ? message.textContent : "The request failed (HTTP " + response.status + ").",
        hint ? hint.textContent : ""
      ));
      return false;
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
        parse(buffer.slice(0, end), handle);
        buffer = buffer.slice(end + 2);
      }
    }
    if (buffer.trim()) parse(buffer, handle);
    return true;
  }

  // capture phase: before htmx, which would post the chat form too
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.stream) return;
    event.preventDefault();
    event.stopPropagation();
    if (!form.reportValidity()) return;
    var chat = form.id === "chat-form";
    var body = new URLSearchParams(new FormData(form));
    var area = chat ? document.getElementById("conversation") : document.getElementById("answer");
    var slot = chat ? turnSlot(area, body.get("question")) : answerSlot(area);
    var status = form.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    form.classList.add("busy");
    area.setAttribute("aria-busy", "true");
    status.textContent = "Sending the question…";
    var refused = chat ? document.getElementById("chat-error") : null;
    if (refused) refused.replaceChildren();
    send(form, body, handler(slot, status), slot)
      .then(function (read) { if (chat && read) chatSent(form); })
      .catch(function () {
        slot.show(errorBox("The server did not answer; check the connection and try again."));
      })
      .finally(function () {
        button.disabled = false;
        form.classList.remove("busy");
        area.removeAttribute("aria-busy");
        status.textContent = "";
      });
  }, true);
})();
