// The timeline widget's only script. It reads no event data (the page is rendered, escaped, on
// the server): it posts the page height to the embedding page, and lets the arrow keys, Home
// and End move between events (Tab reaches each event too: every event has tabindex=0).
(function () {
  "use strict";
  var root = document.documentElement;
  var type = root.getAttribute("data-message") || "sanctions-timeline:resize";
  var last = -1;

  function height() {
    var body = document.body;
    return Math.ceil(Math.max(body.getBoundingClientRect().height, body.scrollHeight));
  }

  function post() {
    if (window.parent === window) return;
    var h = height();
    if (h === last) return;
    last = h;
    // The height is not a secret: any embedding origin may read it.
    window.parent.postMessage({ type: type, height: h, href: location.href }, "*");
  }

  function events() {
    return Array.prototype.slice.call(document.querySelectorAll(".tl-event"));
  }

  document.addEventListener("keydown", function (e) {
    var list = events();
    var at = list.indexOf(document.activeElement);
    if (at < 0) return;
    var to = -1;
    if (e.key === "ArrowDown" || e.key === "ArrowRight" || e.key === "j") to = at + 1;
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft" || e.key === "k") to = at - 1;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = list.length - 1;
    else return;
    if (to >= 0 && to < list.length) {
      list[to].focus();
      e.preventDefault();
    }
  });

  if (typeof ResizeObserver === "function") {
    new ResizeObserver(post).observe(document.body);
  }
  window.addEventListener("load", post);
  window.addEventListener("resize", post);
  // A host that loaded resize.js late asks again.
  window.addEventListener("message", function (e) {
    if (e.source === window.parent && e.data && e.data.type === type + "?") {
      last = -1;
      post();
    }
  });
  post();
})();
