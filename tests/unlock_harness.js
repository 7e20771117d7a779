// Runs the unlock shell's crypto (gallery_builder/unlock/crypto.js, the very file the page and
// the service worker run) under Node, whose globalThis.crypto.subtle is the browser's WebCrypto
// API. Reads one JSON job on stdin, writes one JSON answer on stdout (tests/test_unlock_crypto.py):
//   {password, lock, open: [{path, data}], seal: [{path, data}], routes: [[scope, pathname]]}
// data is base64; the answer gives, for each file to open, its fid and its plaintext (or the
// error's name), and for each to seal, its fid and the sealed bytes.
"use strict";
const path = require("path");
const G = require(path.join(__dirname, "..", "gallery_builder", "unlock", "crypto.js"));

async function main() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const job = JSON.parse(text);
  const answer = {};
  if (job.lock) {
    let record;
    try {
      record = G.makeRecord(job.lock, await G.deriveMaster(job.password, job.lock));
    } catch (error) {
      answer.lockError = error.name + ": " + error.message;
    }
    if (record) {
      const keys = await G.keysOf(record);
      answer.opened = [];
      for (const file of job.open || []) {
        const fid = await G.fileId(keys, file.path);
        try {
          const plain = await G.openSealed(keys, fid, G.fromBase64(file.data));
          answer.opened.push({ fid, data: G.toBase64(new Uint8Array(plain)) });
        } catch (error) {
          answer.opened.push({ fid, error: error.name });
        }
      }
      answer.sealed = [];
      for (const file of job.seal || []) {
        const fid = await G.fileId(keys, file.path);
        answer.sealed.push({ fid, data: G.toBase64(await G.seal(keys, fid, G.fromBase64(file.data))) });
      }
    }
  }
  answer.routes = (job.routes || []).map(([scope, pathname]) => G.route(scope, pathname));
  process.stdout.write(JSON.stringify(answer));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
