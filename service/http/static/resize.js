// Host-page snippet for the sanctions-timeline widget: lets each widget iframe take the height
// its page posts. Include once per page: <script src="SERVICE/embed/assets/resize.js" async>.
// Only messages from the iframe's own window and origin are obeyed; an iframe with a
// data-max-height attribute never grows beyond it.
(function () {
  "use strict";
  if (window.__sanctionsTimelineResize) return;
  window.__sanctionsTimelineResize = true;
  var TYPE = "sanctions-timeline:resize";

  function frames() {
    return Array.prototype.slice.call(document.getElementsByTagName("iframe"));
  }

  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d || d.type !== TYPE || typeof d.height !== "number" || !isFinite(d.height)) return;
    frames().forEach(function (f) {
      if (f.contentWindow !== e.source) return;
      var origin;
      try {
        origin = new URL(f.src, location.href).origin;
      } catch (err) {
        return;
      }
      if (origin !== e.origin) return;
      var h = Math.max(80, Math.min(Math.round(d.height), 100000));
      var max = parseInt(f.getAttribute("data-max-height") || "", 10);
      if (max > 0) h = Math.min(h, max);
      f.style.height = h + "px";
      f.setAttribute("data-resized", String(h));
    });
  });

  // Widgets that loaded before this script posted into the void: ask them again.
  frames().forEach(function (f) {
    try {
      f.contentWindow.postMessage({ type: TYPE + "?" }, new URL(f.src, location.href).origin);
    } catch (err) {
      /* not a widget, or not loaded yet: it will post on load */
    }
  });
})();
