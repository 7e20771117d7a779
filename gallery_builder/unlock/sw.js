/* gallery-builder's encrypted gallery: the service worker. Its scope is the gallery's root; it
   answers every GET in it by decrypting the file the URL names:

   - a URL maps to the clear site's path as the host would map it ("/P/" -> index.html,
     "/P/album/" -> album/index.html); the worker fetches _x/<file id>, opens it, and answers
     with the content type of the path's extension and, for a page, the security headers of
     gallery_builder/security_headers.py (CONFIG, written in by gallery_builder/unlock_shell.py);
   - a folder URL without its "/" whose index exists is redirected to it; a missing file
     answers 404 with the gallery's own (decrypted) error page;
   - _x/, _lock.json, _sw.js, _unlock/ and _auth (CloudFront's invitation endpoint, for a
     gallery that is also private) go to the host untouched.

   The key is the tab's: kept in its sessionStorage (_unlock/session.js answers the worker
   from there). This worker holds it in memory too, but uses it for a page only when an open
   tab of the gallery confirms it holds the key and is leaving its page (a link followed or a
   reload in an unlocked tab: the old document answers while the next one is fetched), and
   for any other file only for a tab that proved it holds it, or the page such a navigation
   opened. Otherwise a page request goes to the host, whose answer is the unlock page; and
   when no tab holds the key at all (the last unlocked tab was closed) the worker forgets it.
   The browser also stops an idle worker, which forgets everything; the next one asks the
   tabs again. */
/* global CONFIG, GalleryCrypto */
(function () {
  "use strict";
  var G = GalleryCrypto;
  var scopeUrl = self.registration.scope; // "https://host/P/"
  var scope = new URL(scopeUrl).pathname;
  // how long a tab may take to say whether it holds the key: a tab answers in a few ms
  // (session.js); one that does not (a page of the host's without it) must not hold a page up
  var ASK_TIMEOUT_MS = 1000;
  var keys = null; // {record, content, names}
  // the clients (by id) that proved they hold the key in their sessionStorage, or that are
  // the document of a navigation such a tab confirmed: only these get decrypted files
  var proven = new Set();
  var asking = new Map(); // client id -> the pending question to it

  self.addEventListener("install", function (event) {
    event.waitUntil(self.skipWaiting());
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(self.clients.claim());
  });

  function sameRecord(a, b) {
    return a.master === b.master && a.salt === b.salt && a.info.content === b.info.content &&
      a.info.names === b.info.names;
  }

  async function useRecord(record) {
    var derived = await G.keysOf(record);
    keys = { record: record, content: derived.content, names: derived.names };
    return keys;
  }

  function forget() {
    keys = null;
    proven.clear();
  }

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    var port = event.ports && event.ports[0];
    var source = event.source && event.source.id;
    if (data.type === "gallery-key") {
      // the unlock page, which has just kept the key in its sessionStorage
      event.waitUntil(useRecord(data.key).then(
        function () {
          proven.clear();
          if (source) proven.add(source);
          if (port) port.postMessage({ ok: true });
        },
        function () { if (port) port.postMessage({ ok: false }); }));
    } else if (data.type === "gallery-lock") {
      forget();
      if (port) port.postMessage({ ok: true });
    }
  });

  async function galleryTabs() {
    var all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    return all.filter(function (client) { return client.url.slice(0, scopeUrl.length) === scopeUrl; });
  }

  /* Ask ``tabs`` whether they hold the key in their sessionStorage: resolves to the first
     holder ({id, record, leaving}) that ``wanted`` accepts, else (all answered, or after
     ASK_TIMEOUT_MS) to {holder: a holder it did not accept, or null}. */
  function askTabs(tabs, wanted) {
    if (!tabs.length) return Promise.resolve({ holder: null });
    return new Promise(function (resolve) {
      var left = tabs.length;
      var other = null;
      var timer = setTimeout(function () { resolve({ holder: other }); }, ASK_TIMEOUT_MS);
      tabs.forEach(function (tab) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) {
          var data = event.data || {};
          if (data.type === "gallery-key" && G.isRecord(data.key)) {
            var holder = { id: tab.id, record: data.key, leaving: data.leaving === true };
            if (wanted(holder)) {
              clearTimeout(timer);
              resolve({ holder: holder, wanted: true });
              return;
            }
            other = other || holder;
          }
          if (--left === 0) {
            clearTimeout(timer);
            resolve({ holder: other });
          }
        };
        tab.postMessage({ type: "gallery-key-request" }, [channel.port2]);
      });
    });
  }

  function anyHolder() { return true; }
  function leavingHolder(holder) { return holder.leaving; }

  /* The keys of a tab's record, that tab now proven (a tab with another key, as after a
     password change, replaces the key, and those proven with the old one must prove again). */
  async function adopt(holder) {
    if (!keys || !sameRecord(keys.record, holder.record)) {
      proven.clear();
      await useRecord(holder.record);
    }
    proven.add(holder.id);
    return keys;
  }

  /* The keys for a navigation, or null: an open tab of the gallery must confirm it holds the
     key in its sessionStorage and is leaving its page (a link followed, a reload, back: its
     document is still open while the next one is fetched, and answers). A new tab has no
     such page: it gets the unlock page, even beside an unlocked tab. No tab holds the key ->
     it is forgotten: the last unlocked tab was closed. */
  async function navigationKeys(event) {
    var asked = await askTabs(await galleryTabs(), leavingHolder);
    if (!asked.holder) {
      forget();
      return null;
    }
    if (!asked.wanted) return null;
    var held = await adopt(asked.holder).catch(function () { return null; });
    if (held && event.resultingClientId) proven.add(event.resultingClientId);
    return held;
  }

  /* The keys for a request of a page, a stylesheet or a picture: only for a client that proved
     it holds the key (asked once, then remembered), else null. */
  async function clientKeys(clientId) {
    if (!clientId) return null;
    if (keys && proven.has(clientId)) return keys;
    if (!asking.has(clientId)) {
      asking.set(clientId, (async function () {
        var client = await self.clients.get(clientId);
        var asked = client ? await askTabs([client], anyHolder) : { holder: null };
        return asked.holder ? adopt(asked.holder) : null;
      })().catch(function () { return null; }).finally(function () { asking.delete(clientId); }));
    }
    return asking.get(clientId);
  }

  async function forgetEverywhere() {
    forget();
    (await galleryTabs()).forEach(function (tab) { tab.postMessage({ type: "gallery-forget" }); });
  }

  function StaleKey() {
    var error = new Error("the key does not open this gallery");
    error.name = "StaleKey";
    return error;
  }

  /* The clear bytes of a logical path, or null when the gallery has no such file. */
  async function openFile(held, path) {
    var fid = await G.fileId(held, path);
    var response = await fetch(scopeUrl + "_x/" + fid, { credentials: "same-origin" });
    if (response.status === 404 || response.status === 403) return null;
    if (!response.ok) throw new Error("the host answered " + response.status);
    var data = await response.arrayBuffer();
    try {
      return { body: await G.openSealed(held, fid, data), response: response };
    } catch (error) {
      if (error.name !== "OperationError") throw error;
    }
    // one file that does not open: a changed password, or a damaged file?
    if (path !== "index.html" && (await openFile(held, "index.html")) !== null) {
      throw new Error(path + " is damaged on the host (it does not decrypt)");
    }
    throw StaleKey();
  }

  async function exists(held, path) {
    var fid = await G.fileId(held, path);
    var response = await fetch(scopeUrl + "_x/" + fid, { method: "HEAD", credentials: "same-origin" });
    return response.ok;
  }

  function contentType(path) {
    var name = path.slice(path.lastIndexOf("/") + 1);
    var dot = name.lastIndexOf(".");
    var ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
    return Object.prototype.hasOwnProperty.call(CONFIG.contentTypes, ext)
      ? CONFIG.contentTypes[ext] : CONFIG.fallbackType;
  }

  var SESSION_TAG = '<script src="' + scope + '_unlock/session.js" defer></script>';

  /* A decrypted page, with the script that keeps the key for the tab added to its head. */
  function withSession(body) {
    var text = new TextDecoder().decode(body);
    var at = text.search(/<\/head\s*>/i);
    return at < 0 ? SESSION_TAG + text : text.slice(0, at) + SESSION_TAG + text.slice(at);
  }

  function respond(opened, path, status) {
    var type = contentType(path);
    var headers = new Headers(CONFIG.headers);
    headers.set("Content-Type", type);
    var cacheControl = opened.response.headers.get("Cache-Control");
    if (cacheControl) headers.set("Cache-Control", cacheControl);
    var body = opened.body;
    if (type.slice(0, 9) === "text/html") {
      Object.keys(CONFIG.pageHeaders).forEach(function (name) {
        headers.set(name, CONFIG.pageHeaders[name]);
      });
      body = withSession(body);
    }
    return new Response(body, { status: status, headers: headers });
  }

  function plain(status, text) {
    return new Response(text + "\n", {
      status: status,
      headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
    });
  }

  /* A request the worker cannot decrypt for want of a key: a page goes to the host, which
     answers with the unlock page (index.html, or error.html for any other path). */
  function locked(request) {
    if (request.mode === "navigate") return fetch(request);
    return plain(403, "403 Forbidden: the gallery is locked");
  }

  async function answer(event, where) {
    var request = event.request;
    var held = await (request.mode === "navigate" ? navigationKeys(event) : clientKeys(event.clientId));
    if (!held) return locked(request);
    try {
      var opened = await openFile(held, where.path);
      if (opened) return respond(opened, where.path, 200);
      // every file has another id under another key: a gallery whose index is not there
      // has had its password changed (its files sealed again), and this key is stale
      if (where.path === "index.html" || !(await exists(held, "index.html"))) throw StaleKey();
      if (!where.folder && (await exists(held, where.path + "/index.html"))) {
        var url = new URL(request.url);
        return Response.redirect(url.origin + url.pathname + "/" + url.search, 302);
      }
      var missing = await openFile(held, "error.html");
      return missing ? respond(missing, "error.html", 404) : plain(404, "404 Not Found");
    } catch (error) {
      if (error.name === "StaleKey") {
        await forgetEverywhere();
        return locked(request);
      }
      return plain(502, "502 Bad Gateway: " + error.message);
    }
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") return;
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) return;
    var where = G.route(scope, url.pathname);
    if (where === null) {
      if (url.pathname.slice(0, scope.length) === scope) event.respondWith(plain(400, "400 Bad Request"));
      return;
    }
    if (where.pass) return;
    event.respondWith(answer(event, where));
  });
})();
