// Runs a CloudFront Function's source under Node the way CloudFront holds it: a script that
// defines `function handler(event)` (no exports, no require), in strict mode, in a context of
// its own with nothing of Node's in it. Usage: node cloudfront_harness.js FUNCTION.js < EVENTS
// where EVENTS is a JSON array of event objects; prints a JSON array with, for each, {"result":
// what handler returned} or {"error": "..."} (an exception, or a run over 1 s).
'use strict';
const fs = require('fs');
const vm = require('vm');

const file = process.argv[2];
const source = fs.readFileSync(file, 'utf8');
const context = vm.createContext({});
vm.runInContext('"use strict";\n' + source, context, { filename: file, timeout: 1000 });
if (typeof context.handler !== 'function') {
  process.stderr.write(`${file} defines no function handler(event)\n`);
  process.exit(2);
}
const events = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = events.map((event) => {
  context.eventJson = JSON.stringify(event);
  try {
    // the event is made inside the context, as CloudFront makes it for the function
    return { result: JSON.parse(vm.runInContext(
      'JSON.stringify(handler(JSON.parse(eventJson)))', context, { timeout: 1000 })) };
  } catch (error) {
    return { error: String(error && error.message || error) };
  }
});
process.stdout.write(JSON.stringify(results));
