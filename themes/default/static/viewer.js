/* gallery-builder's picture viewer: no dependencies. Without it, each thumbnail is a link
   to its picture; with it, a click opens the picture at the size that fits the screen.
   Keys: Left/Right move, Escape closes (focus goes back to the thumbnail). Swipe on touch.
   Each picture has a URL fragment (#slug): a deep link opens it, Back closes it. */
(function () {
  "use strict";
  var list = document.querySelector(".pictures");
  if (!list || !window.HTMLDialogElement) return;
  var links = Array.prototype.slice.call(list.querySelectorAll("a[id]"));
  var current = -1;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  var dialog = el("dialog", { "class": "viewer", "aria-label": "Picture viewer" });
  var figure = el("figure");
  var bar = el("div", { "class": "bar" });
  var text = el("p", { "class": "text" });
  var caption = el("span", { "class": "caption" });
  var meta = el("span", { "class": "meta" });
  var download = el("a", { download: "" }, "Download original");
  var close = el("button", { "class": "close", type: "button", "aria-label": "Close", autofocus: "" }, "\u00d7");
  var prev = el("button", { "class": "prev", type: "button", "aria-label": "Previous picture" }, "\u2039");
  var next = el("button", { "class": "next", type: "button", "aria-label": "Next picture" }, "\u203a");
  text.append(caption, meta);
  bar.append(text, download);
  dialog.append(figure, bar, prev, next, close);
  document.body.append(dialog);

  function fit(link) {
    var w = +link.dataset.w, h = +link.dataset.h;
    var room = Math.min(innerWidth, Math.max(innerHeight - 72, 100) * w / h);
    return Math.ceil(Math.min(room, w)) + "px";
  }

  // The viewer's srcset for a format, from the thumbnail's <source> or <img>: the grid's
  // candidates but the first (the crop), each rated by its own width. The grid rates an image
  // by the width of the crop-shaped box it fills: for a picture wider than the crop, its
  // height times the crop's ratio (rendering.thumb_srcset).
  function sized(node, link, thumb) {
    var wider = Math.max(1, link.dataset.w / link.dataset.h /
      (thumb.getAttribute("width") / thumb.getAttribute("height")));
    return (node.getAttribute("srcset") || "").split(",").slice(1).map(function (candidate) {
      var parts = candidate.trim().split(/\s+/);
      return parts[0] + " " + Math.round(parseInt(parts[1], 10) * wider) + "w";
    }).join(", ");
  }

  function show(index) {
    current = (index + links.length) % links.length;
    var link = links[current];
    var sizes = fit(link);
    var picture = el("picture");
    var thumb = link.querySelector("img");
    link.querySelectorAll("source").forEach(function (source) {
      var srcset = sized(source, link, thumb);
      if (srcset) picture.append(el("source", { type: source.type, srcset: srcset, sizes: sizes }));
    });
    picture.append(el("img", {
      src: link.getAttribute("href"), srcset: sized(thumb, link, thumb),
      sizes: sizes, width: link.dataset.w, height: link.dataset.h, alt: thumb.alt
    }));
    figure.replaceChildren(picture);
    caption.textContent = link.dataset.caption || "";
    meta.textContent = [link.dataset.date, (current + 1) + " / " + links.length]
      .filter(Boolean).join(" \u00b7 ");
    download.hidden = !link.dataset.original;
    if (link.dataset.original) download.href = link.dataset.original;
    prev.hidden = next.hidden = links.length < 2;
    if (!dialog.open) dialog.showModal();
  }

  function hide() {
    if (!dialog.open) return;
    dialog.close();
    figure.replaceChildren();
    if (links[current]) links[current].focus();
  }

  function go(step) {
    show(current + step);
    history.replaceState(history.state, "", "#" + links[current].id);
  }

  function leave() {
    if (history.state && history.state.viewer) {
      history.back(); // popstate hides the viewer
    } else {
      history.replaceState(null, "", location.pathname + location.search);
      hide();
    }
  }

  function fromFragment() {
    var id = location.hash.slice(1);
    try { id = decodeURIComponent(id); } catch (error) { /* not percent-encoded: as it is */ }
    for (var i = 0; i < links.length; i++) {
      if (links[i].id === id) return show(i);
    }
    hide();
  }

  list.addEventListener("click", function (event) {
    var link = event.target.closest("a[id]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show(links.indexOf(link));
    history.pushState({ viewer: true }, "", "#" + link.id);
  });
  prev.addEventListener("click", function () { go(-1); });
  next.addEventListener("click", function () { go(1); });
  close.addEventListener("click", leave);
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); leave(); });
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") go(-1);
    else if (event.key === "ArrowRight") go(1);
    else if (event.key === "Tab") {
      // a modal dialog lets Tab leave the page after its last button: cycle instead
      var stops = [download, prev, next, close].filter(function (b) { return !b.hidden; });
      var edge = event.shiftKey ? stops[0] : stops[stops.length - 1];
      if (document.activeElement !== edge) return;
      (event.shiftKey ? stops[stops.length - 1] : stops[0]).focus();
    } else return;
    event.preventDefault();
  });
  figure.addEventListener("click", function (event) {
    if (event.target === figure) leave(); // a click beside the picture
  });
  var startX = null, startY = 0;
  figure.addEventListener("pointerdown", function (event) {
    if (event.pointerType !== "mouse") { startX = event.clientX; startY = event.clientY; }
  });
  figure.addEventListener("pointerup", function (event) {
    if (startX === null) return;
    var dx = event.clientX - startX, dy = event.clientY - startY;
    startX = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy)) go(dx < 0 ? 1 : -1);
  });
  addEventListener("popstate", fromFragment);
  if (location.hash) fromFragment();
})();
