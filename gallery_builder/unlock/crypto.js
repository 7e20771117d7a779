/* gallery-builder's encrypted gallery: the cryptography of the unlock page and of the service
   worker (_sw.js includes this file), and of the tests, which run it under Node (whose
   WebCrypto is the browser's API). It is gallery_builder/encryption.py, read side:

   - master key: PBKDF2-HMAC-SHA256 over the UTF-8 of the NFC-normalised password, the salt
     and iteration count of _lock.json, 32 bytes;
   - HKDF-SHA256(master, salt = empty, info = lock.info.content) -> the AES-256-GCM key;
     info = lock.info.names -> the HMAC-SHA256 key for names;
   - a file's id: the first 16 bytes of HMAC-SHA256(names key, UTF-8 logical path), as 32
     lowercase hex digits; it is stored at _x/<id>;
   - a sealed file: a 12-byte nonce, then AES-GCM ciphertext and tag, the id's ASCII as AAD
     (a file moved to another id does not open).

   The key handed between the tab and the worker is a "record": the master key (base64) with
   the salt and info strings of the lock it was made for. */
(function (root) {
  "use strict";
  var subtle = root.crypto.subtle;
  var encoder = new TextEncoder();
  var FORMAT = 1;
  // _lock.json is read from the host: refuse a weaker lock than the build writes, and one
  // that would keep the tab busy for minutes
  var MIN_ITERATIONS = 600000;
  var MAX_ITERATIONS = 20000000;
  var NONCE_BYTES = 12;
  // what the service worker lets through to the host untouched (the encrypted site's own
  // files, and _auth: CloudFront's invitation endpoint of a gallery that is also private,
  // docs/https.md); a path below them is never a file of the clear site
  var PASS_THROUGH = ["_x/", "_unlock/"];
  var PASS_THROUGH_FILES = ["_lock.json", "_sw.js", "_auth"];

  function LockError(message) {
    var error = new Error(message);
    error.name = "LockError";
    return error;
  }

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function toHex(bytes) {
    var hex = "";
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return hex;
  }

  /* The lock's settings, checked: a lock of another format, cipher or strength is refused
     with a LockError rather than half understood. */
  function readLock(lock) {
    var ok = lock && typeof lock === "object" && lock.format === FORMAT &&
      lock.kdf === "PBKDF2-SHA256" && lock.cipher === "AES-256-GCM" &&
      lock.names === "HMAC-SHA256-128" && Number.isInteger(lock.iterations) &&
      lock.iterations >= MIN_ITERATIONS && lock.iterations <= MAX_ITERATIONS &&
      typeof lock.salt === "string" && lock.info && typeof lock.info.content === "string" &&
      typeof lock.info.names === "string";
    if (!ok) throw LockError("this gallery's _lock.json is not one this page can read");
    var salt;
    try {
      salt = fromBase64(lock.salt);
    } catch (error) {
      throw LockError("this gallery's _lock.json has a salt that is not base64");
    }
    if (salt.length < 16) throw LockError("this gallery's _lock.json has a salt too short");
    return { salt: salt, iterations: lock.iterations, info: lock.info };
  }

  /* The 32-byte master key for ``password`` under ``lock`` (the parsed _lock.json). */
  async function deriveMaster(password, lock) {
    var settings = readLock(lock);
    var material = await subtle.importKey(
      "raw", encoder.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
    var bits = await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: settings.salt, iterations: settings.iterations },
      material, 256);
    return new Uint8Array(bits);
  }

  /* What the tab keeps in sessionStorage and hands to the worker. */
  function makeRecord(lock, master) {
    return {
      format: FORMAT,
      salt: lock.salt,
      info: { content: lock.info.content, names: lock.info.names },
      master: toBase64(master),
    };
  }

  function isRecord(record) {
    return !!record && typeof record === "object" && record.format === FORMAT &&
      typeof record.master === "string" && typeof record.salt === "string" &&
      !!record.info && typeof record.info.content === "string" &&
      typeof record.info.names === "string";
  }

  /* The content (AES-GCM) and names (HMAC) keys of a record; neither can be exported. */
  async function keysOf(record) {
    if (!isRecord(record)) throw LockError("not a key of this gallery");
    var master = fromBase64(record.master);
    var hkdf = await subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
    function params(info) {
      return { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(info) };
    }
    var content = await subtle.deriveKey(
      params(record.info.content), hkdf, { name: "AES-GCM", length: 256 }, false,
      ["encrypt", "decrypt"]);
    var names = await subtle.deriveKey(
      params(record.info.names), hkdf, { name: "HMAC", hash: "SHA-256", length: 256 }, false,
      ["sign"]);
    return { content: content, names: names };
  }

  /* The id a logical path (``album/index.html``) is stored under: _x/<id>. */
  async function fileId(keys, logicalPath) {
    var mac = await subtle.sign("HMAC", keys.names, encoder.encode(logicalPath));
    return toHex(new Uint8Array(mac, 0, 16));
  }

  /* The plaintext of a sealed file (an ArrayBuffer), or an OperationError when the key is
     not the one it was sealed with, the bytes were changed, or they belong to another id. */
  async function openSealed(keys, fid, data) {
    var bytes = new Uint8Array(data);
    if (bytes.length < NONCE_BYTES + 16) {
      var error = new Error("a sealed file is shorter than its nonce and tag");
      error.name = "OperationError";
      throw error;
    }
    return subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, NONCE_BYTES), additionalData: encoder.encode(fid),
        tagLength: 128 },
      keys.content, bytes.subarray(NONCE_BYTES));
  }

  /* What gallery_builder/encryption.py's seal does (the tests seal in JS and open in Python). */
  async function seal(keys, fid, plaintext) {
    var nonce = root.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    var sealed = await subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: encoder.encode(fid), tagLength: 128 },
      keys.content, plaintext);
    var out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
    out.set(nonce);
    out.set(new Uint8Array(sealed), NONCE_BYTES);
    return out;
  }

  /* Where a request path goes, for the worker whose scope is the path ``scope`` ("/P/"):
     null when it is outside the scope or no file can have it ("..", an empty segment, bad
     percent-encoding); {pass: true} for the encrypted site's own files; else {path: the
     logical path, folder: whether the URL named a folder}. */
  function route(scope, pathname) {
    if (pathname.slice(0, scope.length) !== scope) return null;
    var rel;
    try {
      rel = decodeURIComponent(pathname.slice(scope.length));
    } catch (error) {
      return null;
    }
    for (var i = 0; i < PASS_THROUGH.length; i++) {
      if (rel.slice(0, PASS_THROUGH[i].length) === PASS_THROUGH[i]) return { pass: true };
    }
    if (PASS_THROUGH_FILES.indexOf(rel) >= 0) return { pass: true };
    var parts = rel.split("/");
    for (var j = 0; j < parts.length; j++) {
      var part = parts[j];
      if (part === "." || part === ".." || (part === "" && j < parts.length - 1)) return null;
      if (/[\u0000-\u001f\u007f\\]/.test(part)) return null;
    }
    var folder = rel === "" || rel.slice(-1) === "/";
    return { path: folder ? rel + "index.html" : rel, folder: folder };
  }

  var api = {
    FORMAT: FORMAT,
    MIN_ITERATIONS: MIN_ITERATIONS,
    readLock: readLock,
    deriveMaster: deriveMaster,
    makeRecord: makeRecord,
    isRecord: isRecord,
    keysOf: keysOf,
    fileId: fileId,
    openSealed: openSealed,
    seal: seal,
    route: route,
    toBase64: toBase64,
    fromBase64: fromBase64,
  };
  root.GalleryCrypto = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof self !== "undefined" ? self : globalThis);
