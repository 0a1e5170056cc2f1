// The embed builder. The page is rendered by the server in the journalist's language; this
// script builds the widget URL and the code from the form. Text from the service is put in
// the page with textContent only.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;
  var chosen = []; // [{id, name}]
  var pinnedAt = null;
  var searchTimer = null;
  var searchSeq = 0;

  function nameIn(entity, lang) {
    var order = lang === "zh-Hans" ? ["zh-Hans", "zh-Hant", "en"]
      : lang === "zh-Hant" ? ["zh-Hant", "zh-Hans", "en"] : ["en"];
    for (var i = 0; i < order.length; i++) {
      if (entity.names && entity.names[order[i]]) return entity.names[order[i]];
    }
    return entity.id;
  }

  function attr(s) {
    return String(s).replace(/&/g, "&amp;").replace(/"/g, "&quot;")
      .replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function isoNow() {
    return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
  }

  function params() {
    var p = new URLSearchParams();
    p.set("entities", chosen.map(function (c) { return c.id; }).join(","));
    if ($("from").value) p.set("from", $("from").value);
    if ($("to").value) p.set("to", $("to").value);
    var types = Array.prototype.slice.call(document.querySelectorAll("#types input:checked"))
      .map(function (i) { return i.value; });
    if (types.length) p.set("types", types.join(","));
    p.set("lang", $("lang").value);
    if ($("pin").checked) {
      pinnedAt = pinnedAt || isoNow();
      p.set("known_at", pinnedAt);
    }
    if ($("theme").value !== "auto") p.set("theme", $("theme").value);
    if ($("group").value !== "none") p.set("group", $("group").value);
    return p;
  }

  function update() {
    $("need-one").hidden = chosen.length > 0;
    if (!chosen.length) {
      $("code").value = ""; $("oembed").value = ""; $("url").value = "";
      $("preview").setAttribute("src", "about:blank");
      return;
    }
    var path = body.getAttribute("data-widget") + "?" + params().toString();
    var url = location.origin + path;
    var title = chosen.map(function (c) { return c.name; })
      .join($("lang").value === "en" ? ", " : "、");
    $("code").value =
      '<iframe src="' + attr(url) + '" title="' + attr(title) + '" width="640" height="720"' +
      ' style="width:100%;max-width:640px;border:0" loading="lazy" referrerpolicy="no-referrer">' +
      "</iframe>\n" +
      '<script src="' + attr(location.origin + "/embed/assets/resize.js") + '" async></' + "script>";
    $("oembed").value = location.origin + "/oembed?" +
      new URLSearchParams({ url: url, format: "json" }).toString();
    $("url").value = url;
    $("open").href = path;
    if ($("preview").getAttribute("src") !== path) $("preview").setAttribute("src", path);
  }

  function renderChosen() {
    var list = $("chosen");
    list.textContent = "";
    chosen.forEach(function (c, index) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(c.name + " (" + c.id + ") "));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "b-small b-remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", body.getAttribute("data-remove").replace("{name}", c.name));
      remove.addEventListener("click", function () {
        chosen.splice(index, 1);
        renderChosen();
        changed();
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function renderResults(entities) {
    var list = $("results");
    list.textContent = "";
    entities.forEach(function (entity) {
      var li = document.createElement("li");
      var add = document.createElement("button");
      add.type = "button";
      add.className = "b-small";
      var name = nameIn(entity, $("lang").value);
      add.textContent = "+ " + name + " (" + entity.id + ")";
      add.addEventListener("click", function () {
        if (!chosen.some(function (c) { return c.id === entity.id; })) {
          chosen.push({ id: entity.id, name: name });
          renderChosen();
          changed();
        }
        $("q").focus();
      });
      li.appendChild(add);
      list.appendChild(li);
    });
  }

  function search() {
    var q = $("q").value.trim();
    var seq = ++searchSeq;
    if (!q) { renderResults([]); return; }
    fetch("/v1/entities?" + new URLSearchParams({ q: q, limit: "10" }).toString())
      .then(function (r) { return r.ok ? r.json() : { entities: [] }; })
      .then(function (found) { if (seq === searchSeq) renderResults(found.entities || []); })
      .catch(function () { if (seq === searchSeq) renderResults([]); });
  }

  function changed() {
    pinnedAt = null; // a new choice is pinned to the moment it was made
    update();
  }

  function copy(id) {
    var field = $(id);
    var done = function () { $("status").textContent = body.getAttribute("data-copied"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select(); document.execCommand("copy"); done();
      });
    } else {
      field.select(); document.execCommand("copy"); done();
    }
  }

  function previewWidth() {
    var checked = document.querySelector("input[name=width]:checked");
    var mobile = !checked || checked.value === "mobile";
    $("frame").className = "b-frame " + (mobile ? "b-frame-mobile" : "b-frame-desktop");
  }

  // The entities the server rendered as chosen (the story, by default).
  Array.prototype.forEach.call(document.querySelectorAll("#chosen li"), function (li) {
    chosen.push({ id: li.getAttribute("data-id"), name: li.getAttribute("data-name") });
  });
  renderChosen();

  $("q").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  });
  $("builder").addEventListener("submit", function (e) { e.preventDefault(); });
  $("lang").addEventListener("change", function () {
    // The builder speaks the widget's language: reload it in that language, same entities.
    var p = new URLSearchParams({ lang: $("lang").value });
    if (chosen.length) p.set("entities", chosen.map(function (c) { return c.id; }).join(","));
    location.assign("/?" + p.toString());
  });
  ["from", "to", "theme", "group", "pin"].forEach(function (id) {
    $(id).addEventListener("change", changed);
  });
  $("types").addEventListener("change", changed);
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.addEventListener("click", function () { copy(button.getAttribute("data-copy")); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[name=width]"), function (radio) {
    radio.addEventListener("change", previewWidth);
  });
  previewWidth();
  update();
})();
