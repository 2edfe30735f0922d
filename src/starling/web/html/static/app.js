/* Starling: small enhancements over pages that work without this script.
   1. Like, repost and save happen in place (the same form posts, answered with JSON).
   2. With a stream address on the timeline, new posts are announced and shown on request. */
(function () {
  "use strict";
  function state(btn, on, count) {
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    var base = btn.value.replace(/^un/, "");
    btn.value = on ? "un" + base : base;
    var span = btn.querySelector("span");
    if (span && count !== undefined) span.textContent = count;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var btn = e.submitter;
    if (!form.classList.contains("feed") || !btn || btn.name !== "do" || !window.fetch) return;
    e.preventDefault();
    var body = new FormData(form);
    body.append(btn.name, btn.value);
    btn.disabled = true;
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw r; return r.json(); })
      .then(function (s) {
        btn.parentNode.querySelectorAll("button[name=do]").forEach(function (b) {
          var kind = b.value.replace(/^un/, "").split(":")[0];
          if (kind === "favourite") state(b, s.favourited, s.favourites_count);
          if (kind === "reblog") state(b, s.reblogged, s.reblogs_count);
          if (kind === "bookmark") state(b, s.bookmarked);
        });
      })
      .catch(function () {
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = btn.name;
        field.value = btn.value;
        form.appendChild(field);
        form.submit();
      })
      .then(function () { btn.disabled = false; });
  });

  var feed = document.querySelector("[data-stream]");
  if (!feed || !window.EventSource) return;
  var list = feed.querySelector(".feed");
  var waiting = [];
  var button = document.createElement("button");
  button.type = "button";
  button.className = "live";
  button.hidden = true;
  var status = document.createElement("p");
  status.className = "sr";
  status.setAttribute("role", "status");
  feed.parentNode.insertBefore(status, feed);
  feed.parentNode.insertBefore(button, feed);
  button.addEventListener("click", function () {
    waiting.splice(0).forEach(function (html) {
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      list.insertAdjacentHTML("afterbegin", html);
    });
    button.hidden = true;
    var first = list.querySelector("article");
    if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
  });
  var source = new EventSource(feed.getAttribute("data-stream"), { withCredentials: true });
  source.addEventListener("open", function () { feed.setAttribute("data-live", "open"); });
  source.addEventListener("error", function () { feed.setAttribute("data-live", "waiting"); });
  source.addEventListener("delete", function (e) {
    var gone = document.getElementById("s" + e.data);
    if (gone) gone.remove();
  });
  source.addEventListener("update", function (e) {
    var id;
    try { id = JSON.parse(e.data).id; } catch (err) { return; }
    if (!/^\d+$/.test(id) || document.getElementById("s" + id)) return;
    fetch("/statuses/" + id + "/card", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) return;
        waiting.unshift(html);
        var n = waiting.length;
        button.textContent = n === 1 ? "Show 1 new post" : "Show " + n + " new posts";
        status.textContent = button.textContent;
        button.hidden = false;
      });
  });
})();
