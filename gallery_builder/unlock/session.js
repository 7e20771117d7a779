/* gallery-builder's encrypted gallery: the tab's side of the key. The unlock page loads it, and
   the service worker adds it to every page it decrypts.

   The key is kept in this tab's sessionStorage (gone when the tab closes). The worker holds
   it in memory too, but before it decrypts a page it asks the gallery's open tabs whether one
   holds the key (and before it decrypts a file for a tab, that tab), and this script answers
   from sessionStorage: with no tab that does, the worker forgets the key. A worker the
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

  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "gallery-key-request" && event.ports && event.ports[0]) {
        var record = load();
        event.ports[0].postMessage(
          record ? { type: "gallery-key", key: record } : { type: "gallery-no-key" });
      } else if (data.type === "gallery-forget") {
        forget(); // the key does not open this gallery any more (its password changed)
      }
    });
    // messages from the worker wait until this is called (or the document has loaded)
    navigator.serviceWorker.startMessages();
  }

  window.GallerySession = { scope: scope, load: load, store: store, forget: forget };
})();
