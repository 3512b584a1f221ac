// TidyLLM upload page: each chosen (or dropped) file is posted on its own to the API's
// streamed upload route with XMLHttpRequest, one file after the other, so its progress bar
// follows the bytes sent; once stored, its processing state is an htmx fragment that polls
// the ledger every 2 s.
// "Automatic" (when routing rules are set): before anything is sent, each file's name,
// size and first 64 KB go to POST /api/v1/uploads/route, and the file is listed with the
// domain the rules chose, the rule and why, and a select to change it; Upload then sends
// each file to the domain its select shows.
// Every text from the user or the server is set with textContent, never as HTML.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  var input = document.getElementById("files");
  var drop = document.getElementById("drop");
  var list = document.getElementById("uploads");
  var empty = document.getElementById("uploads-empty");
  if (!form || !input || !list) return;
  var csrf = document.body.dataset.csrf || "";
  var counter = 0;
  var select = document.getElementById("domain");
  var routing = document.getElementById("routing");
  var routes = document.getElementById("routes");
  var pending = []; // automatic: {file, choice} for each file listed with its destination
  var HEAD_BYTES = Number(form.dataset.headBytes) || 65536; // what the server sniffs

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function showError(item, status, message, hint) {
    var box = item.querySelector(".transfer");
    box.textContent = "";
    box.appendChild(element("span", "badge state-failed", "refused"));
    box.appendChild(element("p", "error-text", message || "Upload failed (HTTP " + status + ")."));
    if (hint) box.appendChild(element("p", "hint", hint));
    item.dataset.state = "refused";
  }

  function follow(item, fileId) {
    var box = item.querySelector(".transfer");
    var state = element("div", "upload-state");
    state.setAttribute("hx-get", "/uploads/" + encodeURIComponent(fileId) + "/state");
    state.setAttribute("hx-trigger", "load");
    state.setAttribute("hx-swap", "outerHTML");
    state.appendChild(element("span", "badge state-pending", "stored, waiting for its state"));
    box.replaceWith(state);
    window.htmx.process(state);
  }

  var queue = [];
  var busy = false;

  function pump() {
    if (busy || !queue.length) return;
    busy = true;
    var next = queue.shift();
    next(function () {
      busy = false;
      pump();
    });
  }

  function send(file, domain) {
    counter += 1;
    var id = "up-" + counter;
    var item = element("li", "upload");
    item.id = id;
    item.appendChild(element("span", "file-name", file.name));
    var box = element("div", "transfer");
    var bar = element("progress");
    bar.max = 100;
    bar.value = 0;
    bar.id = id + "-progress";
    var label = element("label", "visually-hidden", "Upload progress of " + file.name);
    label.htmlFor = bar.id;
    var percent = element("span", "percent", "0%");
    box.appendChild(label);
    box.appendChild(bar);
    box.appendChild(percent);
    item.appendChild(box);
    list.prepend(item);
    if (empty) empty.hidden = true;

    queue.push(function (finished) {
      transfer(file, domain, item, bar, percent, finished);
    });
    pump();
  }

  function transfer(file, domain, item, bar, percent, finished) {
    var body = new FormData();
    body.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/domains/" + encodeURIComponent(domain) + "/uploads");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var done = Math.round((event.loaded / event.total) * 100);
      bar.value = done;
      percent.textContent = done + "%";
    });
    xhr.addEventListener("loadend", finished);
    xhr.addEventListener("load", function () {
      var data = xhr.response || {};
      if (xhr.status === 201 && data.files && data.files.length) {
        bar.value = 100;
        follow(item, data.files[0].id);
      } else if (xhr.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent("/upload"));
      } else {
        var err = data.error || {};
        showError(item, xhr.status, err.message, err.hint);
      }
    });
    xhr.addEventListener("error", function () {
      showError(item, 0, "The upload was interrupted.", "Check the connection and try again.");
    });
    xhr.send(body);
  }

  function sendAll(files) {
    var domain = select.value;
    for (var i = 0; i < files.length; i += 1) send(files[i], domain);
  }

  function automatic() {
    var option = select.options[select.selectedIndex];
    return Boolean(routes && option && option.hasAttribute("data-automatic"));
  }

  function base64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
    return window.btoa(text);
  }

  function explain(item, choice, answer) {
    var why = item.querySelector(".route-why");
    if (answer.refused) {
      why.textContent = "This file would be refused: " + answer.refused;
    } else if (answer.domain && answer.rule) {
      why.textContent =
        "\u2192 domain " + answer.domain + ", by rule " + answer.rule + ": " +
        answer.reasons.join(", ");
    } else if (answer.domain) {
      why.textContent = "\u2192 domain " + answer.domain + ", by default: " +
        answer.reasons.join(", ");
    } else {
      var text = answer.reasons.join(", ");
      why.textContent = text.charAt(0).toUpperCase() + text.slice(1) + ".";
    }
    item.dataset.domain = answer.domain || "";
    item.dataset.rule = answer.rule || "";
    if (answer.domain) choice.value = answer.domain;
    item.dataset.routed = "yes";
  }

  function ask(file, item, choice) {
    file.slice(0, HEAD_BYTES).arrayBuffer().then(function (head) {
      return fetch("/api/v1/uploads/route", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ name: file.name, size: file.size, head: base64(head) }),
      });
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent("/upload"));
        return null;
      }
      return response.json().then(function (data) {
        if (response.ok) {
          explain(item, choice, data);
        } else {
          var err = (data && data.error) || {};
          item.querySelector(".route-why").textContent =
            "The routing rules could not be asked: " + (err.message || "HTTP " + response.status);
          item.dataset.routed = "error";
        }
      });
    }).catch(function () {
      item.querySelector(".route-why").textContent =
        "The routing rules could not be asked; choose a domain.";
      item.dataset.routed = "error";
    });
  }

  function route(files) {
    routes.textContent = "";
    pending = [];
    routing.hidden = !files.length;
    for (var i = 0; i < files.length; i += 1) {
      counter += 1;
      var file = files[i];
      var item = element("li", "upload route");
      item.appendChild(element("span", "file-name", file.name));
      item.appendChild(element("p", "route-why hint", "Asking the routing rules\u2026"));
      var choice = element("select");
      choice.id = "route-" + counter;
      var label = element("label", "visually-hidden", "Destination of " + file.name);
      label.htmlFor = choice.id;
      choice.appendChild(element("option", "", "choose a domain")).value = "";
      for (var j = 0; j < select.options.length; j += 1) {
        var option = select.options[j];
        if (option.hasAttribute("data-automatic")) continue;
        choice.appendChild(element("option", "", option.value)).value = option.value;
      }
      item.appendChild(label);
      item.appendChild(choice);
      routes.appendChild(item);
      pending.push({ file: file, choice: choice });
      ask(file, item, choice);
    }
  }

  function sendRouted() {
    for (var i = 0; i < pending.length; i += 1) {
      if (!pending[i].choice.value) {
        window.tidyllm.notify("Choose a domain for " + pending[i].file.name + " first.", true);
        pending[i].choice.focus();
        return;
      }
    }
    pending.forEach(function (p) { send(p.file, p.choice.value); });
    pending = [];
    routes.textContent = "";
    routing.hidden = true;
    input.value = "";
  }

  if (routes) {
    input.addEventListener("change", function () {
      if (automatic()) route(input.files);
    });
    select.addEventListener("change", function () {
      if (automatic() && input.files.length) {
        route(input.files);
      } else if (!automatic()) {
        pending = [];
        routes.textContent = "";
        routing.hidden = true;
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (automatic()) {
      if (!pending.length) {
        window.tidyllm.notify("Choose at least one file first.", true);
        input.focus();
        return;
      }
      sendRouted();
      return;
    }
    if (!input.files.length) {
      window.tidyllm.notify("Choose at least one file first.", true);
      input.focus();
      return;
    }
    sendAll(input.files);
    input.value = "";
  });

  // a file dropped beside the box must not make the browser leave the page
  ["dragover", "drop"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      event.preventDefault();
    });
  });

  if (drop) {
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () {
        drop.classList.remove("over");
      });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      if (automatic()) {
        route(event.dataTransfer.files);
      } else {
        sendAll(event.dataTransfer.files);
      }
    });
  }
})();
