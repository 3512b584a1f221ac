// TidyLLM upload page: each chosen (or dropped) file is posted on its own to the API's
// streamed upload route with XMLHttpRequest, one file after the other, so its progress bar
// follows the bytes sent; once stored, its processing state is an htmx fragment that polls
// the ledger every 2 s.
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
    var domain = document.getElementById("domain").value;
    for (var i = 0; i < files.length; i += 1) send(files[i], domain);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
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
      if (event.dataTransfer && event.dataTransfer.files.length) sendAll(event.dataTransfer.files);
    });
  }
})();
