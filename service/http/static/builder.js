// The embed builder. Text from the service is put in the page with textContent only.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var chosen = []; // [{id, label}]
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
    if (chosen.length) p.set("entities", chosen.map(function (c) { return c.id; }).join(","));
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
    var p = params();
    var path = "/embed/timeline?" + p.toString();
    var url = location.origin + path;
    var lang = $("lang").value;
    var title = chosen.length
      ? chosen.map(function (c) { return nameIn(c.entity, lang); }).join(lang === "en" ? ", " : "、")
      : "Timeline";
    $("code").value =
      '<iframe src="' + attr(url) + '" title="' + attr(title) + '" width="640" height="720"' +
      ' style="width:100%;max-width:640px;border:0" loading="lazy" referrerpolicy="no-referrer">' +
      "</iframe>\n" +
      '<script src="' + attr(location.origin + "/embed/assets/resize.js") + '" async></' + "script>";
    $("oembed").value = location.origin + "/oembed?" +
      new URLSearchParams({ url: url, format: "json" }).toString();
    $("open").href = path;
    if ($("preview").getAttribute("src") !== path) $("preview").setAttribute("src", path);
  }

  function renderChosen() {
    var list = $("chosen");
    list.textContent = "";
    $("q-help").hidden = chosen.length > 0;
    chosen.forEach(function (c, index) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(nameIn(c.entity, $("lang").value) + " (" + c.id + ")"));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "b-small";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove " + nameIn(c.entity, "en"));
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
      add.textContent = "+ " + nameIn(entity, $("lang").value) + " (" + entity.id + ")";
      add.addEventListener("click", function () {
        if (!chosen.some(function (c) { return c.id === entity.id; })) {
          chosen.push({ id: entity.id, entity: entity });
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
      .then(function (body) { if (seq === searchSeq) renderResults(body.entities || []); })
      .catch(function () { if (seq === searchSeq) renderResults([]); });
  }

  function changed() {
    pinnedAt = null; // a new choice is pinned to the moment it was made
    update();
  }

  function copy(id) {
    var field = $(id);
    var done = function () { $("status").textContent = "Copied."; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select(); document.execCommand("copy"); done();
      });
    } else {
      field.select(); document.execCommand("copy"); done();
    }
  }

  $("q").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  });
  $("builder").addEventListener("submit", function (e) { e.preventDefault(); });
  ["from", "to", "lang", "theme", "group", "pin"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      if (id === "lang") renderChosen();
      changed();
    });
  });
  $("types").addEventListener("change", changed);
  $("copy-code").addEventListener("click", function () { copy("code"); });
  $("copy-oembed").addEventListener("click", function () { copy("oembed"); });
  update();
})();
