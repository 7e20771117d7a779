/* gallery-builder's encrypted gallery: the unlock page. It reads _lock.json, derives the key
   from the password (crypto.js), checks it by opening the gallery's index.html, keeps it in
   this tab's sessionStorage, registers the service worker (_sw.js, whose scope is the
   gallery), hands it the key and reloads: the worker then decrypts every page and picture.

   A wrong password says so and keeps the field; there is no lockout (the cost of a guess is
   the key derivation, here as for anyone who copied the files). */
(function () {
  "use strict";
  var G = window.GalleryCrypto;
  var session = window.GallerySession;
  var form = document.getElementById("unlock");
  var field = document.getElementById("password");
  var button = form.querySelector("button");
  var status = document.getElementById("status");
  var scope = session.scope;
  // how the page tells itself, across the reload, that it has just handed the key over
  var RELOADED = "gallery-builder:reloaded:" + new URL(scope).pathname;

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function setBusy(busy) {
    form.setAttribute("aria-busy", busy ? "true" : "false");
    button.disabled = busy;
    field.readOnly = busy;
  }

  function disable(text) {
    say(text, "error");
    button.disabled = true;
    field.disabled = true;
  }

  if (!window.isSecureContext || !window.crypto || !crypto.subtle || !navigator.serviceWorker) {
    disable("This browser cannot open an encrypted gallery here: it needs an HTTPS address " +
      "(or localhost) and a browser with service workers (not a private window of Firefox).");
    return;
  }

  var lockRequest = null;
  function lock() {
    if (!lockRequest) {
      lockRequest = fetch(scope + "_lock.json", { cache: "no-cache", credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("the gallery's _lock.json answered " + response.status);
          return response.json();
        })
        .catch(function (error) {
          lockRequest = null; // try again on the next submit
          throw error;
        });
    }
    return lockRequest;
  }

  /* Whether the keys open the gallery's index.html: the password is right. A wrong one gives
     another file id, which the host does not have (404, or 403 where it may not list). */
  async function opens(keys) {
    var fid = await G.fileId(keys, "index.html");
    var response = await fetch(scope + "_x/" + fid, { credentials: "same-origin" });
    if (response.status === 404 || response.status === 403) return false;
    if (!response.ok) throw new Error("the gallery's index.html answered " + response.status);
    try {
      await G.openSealed(keys, fid, await response.arrayBuffer());
      return true;
    } catch (error) {
      if (error && error.name === "OperationError") return false;
      throw error;
    }
  }

  function settle(worker) {
    if (worker.state === "activated") return Promise.resolve(worker);
    return new Promise(function (resolve, reject) {
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") resolve(worker);
        if (worker.state === "redundant") reject(new Error("the gallery's service worker stopped"));
      });
    });
  }

  // the worker is registered at once (it needs no key), while the visitor types
  var registering = null;
  function register() {
    if (!registering) {
      registering = navigator.serviceWorker.register(scope + "_sw.js", {
        scope: scope,
        updateViaCache: "none",
      }).catch(function (error) {
        registering = null; // try again on the next submit
        throw error;
      });
    }
    return registering;
  }

  /* Give the worker the key; resolves once it has taken it. */
  async function handOver(record) {
    var registration = await register();
    var worker = await settle(registration.active || registration.waiting || registration.installing);
    await new Promise(function (resolve, reject) {
      var channel = new MessageChannel();
      var timer = setTimeout(function () {
        reject(new Error("the gallery's service worker did not answer"));
      }, 10000);
      channel.port1.onmessage = function (event) {
        clearTimeout(timer);
        if (event.data && event.data.ok) resolve();
        else reject(new Error("the gallery's service worker refused the key"));
      };
      worker.postMessage({ type: "gallery-key", key: record }, [channel.port2]);
    });
  }

  async function enter(record) {
    session.store(record);
    await handOver(record);
    sessionStorage.setItem(RELOADED, String(Date.now()));
    location.reload();
  }

  function problem(error) {
    if (error && error.name === "LockError") return "This gallery cannot be opened: " + error.message + ".";
    if (error && error.name === "QuotaExceededError" || error && error.name === "SecurityError") {
      return "This browser does not let the page keep the key for this tab (site data is blocked).";
    }
    return "The gallery could not be opened (" + (error && error.message || error) +
      "). Check the connection and try again.";
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    var password = field.value;
    if (!password) {
      field.setAttribute("aria-invalid", "true");
      say("Enter the password.", "error");
      field.focus();
      return;
    }
    setBusy(true);
    say("Checking the password…", "busy");
    try {
      var settings = await lock();
      var record = G.makeRecord(settings, await G.deriveMaster(password, settings));
      if (!(await opens(await G.keysOf(record)))) {
        setBusy(false);
        field.setAttribute("aria-invalid", "true");
        say("That password is not right. Check it and try again.", "error");
        field.focus();
        field.select();
        return;
      }
      field.removeAttribute("aria-invalid");
      say("Opening the gallery…", "busy");
      await enter(record);
    } catch (error) {
      setBusy(false);
      say(problem(error), "error");
    }
  });

  /* A key this tab already has (the worker was replaced, or the page was reloaded past it):
     used without asking again, once, if it still opens the gallery. */
  async function resume() {
    var record = session.load();
    if (!record) return;
    var reloaded = Number(sessionStorage.getItem(RELOADED) || 0);
    sessionStorage.removeItem(RELOADED);
    if (Date.now() - reloaded < 10000) return; // just reloaded, and still here: ask
    var settings = await lock();
    if (record.salt !== settings.salt || !(await opens(await G.keysOf(record)))) {
      session.forget();
      return;
    }
    setBusy(true);
    say("Opening the gallery…", "busy");
    await enter(record);
  }

  register().catch(function () {
    // said on submit, if it fails again then
  });
  lock().catch(function () {
    // the same
  });
  resume().catch(function () {
    setBusy(false);
    say("");
  });
})();
