/* gallery-builder's encrypted gallery: the tab's side of the key. The unlock page loads it, and
   the service worker adds it to every page it decrypts.

   The key is kept in this tab's sessionStorage (gone when the tab closes). The worker holds
   it in memory too, but before it decrypts a page it asks the gallery's open tabs whether one
   holds the key and is leaving its page (and before it decrypts a file for a tab, that tab),
   and this script answers from sessionStorage: with no tab that holds it, the worker forgets
   the key. A worker the
   browser stopped and started again gets the key back the same way. */
(function () {
  "use strict";
  var script = document.currentScript;
  // this file is <gallery>/_unlock/session.js: the gallery's root is the folder above
  var scope = new URL("..", script && script.src ? script.src : location.href).href;
  var name = "gallery-builder:key:" + new URL(scope).pathname;

  function load() {
    try {
      var record = JSON.parse(sessionStorage.getItem(name) || "null");
      return window.GalleryCrypto && !window.GalleryCrypto.isRecord(record) ? null : record;
    } catch (error) {
      return null; // storage blocked, or not JSON
    }
  }

  function store(record) {
    sessionStorage.setItem(name, JSON.stringify(record));
  }

  function forget() {
    try {
      sessionStorage.removeItem(name);
    } catch (error) {
      // storage blocked: nothing kept
    }
  }

  // when this tab last began to leave its page (a link, a reload, back, an address typed):
  // the worker decrypts a page only for a tab that holds the key and is leaving its page for
  // it, not for another tab opened beside this one. The navigation reaches the worker at
  // once; the window only covers a worker the browser has to start first.
  var LEAVING_MS = 5000;
  var leavingSince = 0;
  window.addEventListener("beforeunload", function () { leavingSince = Date.now(); });
  window.addEventListener("pageshow", function () { leavingSince = 0; }); // stayed, or came back

  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "gallery-key-request" && event.ports && event.ports[0]) {
        var record = load();
        var leaving = leavingSince > 0 && Date.now() - leavingSince < LEAVING_MS;
        event.ports[0].postMessage(record
          ? { type: "gallery-key", key: record, leaving: leaving } : { type: "gallery-no-key" });
      } else if (data.type === "gallery-forget") {
        forget(); // the key does not open this gallery any more (its password changed)
      }
    });
    // messages from the worker wait until this is called (or the document has loaded)
    navigator.serviceWorker.startMessages();
  }

  window.GallerySession = { scope: scope, load: load, store: store, forget: forget };
})();
