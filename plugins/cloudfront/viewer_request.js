// gallery-builder's viewer-request CloudFront Function (runtime cloudfront-js-2.0).
// It gives a private bucket behind CloudFront the answers of S3 website hosting:
//   /trip/        -> the origin is asked for /trip/index.html (and / for /index.html)
//   /trip/album   -> 301 to /trip/album/ (query string kept): the last segment has no dot
//   anything else -> passes untouched (/trip/galata.1280.3f2a.webp, /trip/manifest.json)
//   /trip/_auth?Policy=..&Signature=..&Key-Pair-Id=..[&to=album/] -> a private gallery's
//                    invitation: 302 into the gallery with CloudFront's signed cookies
// The redirect's Location is a path, never a host: no open redirect, even for //x or /\x.
// ES 5.1 only, no modules; tested under Node: tests/test_cloudfront_function.py.

// what a percent-encoded component keeps as it is; anything else is escaped (UTF-8). A valid
// %XX escape is kept, so a value already encoded (CloudFront passes the viewer's bytes) is
// not encoded twice, and a decoded one (a test event) comes out encoded all the same.
var PATH = /%[0-9A-Fa-f]{2}|[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\w\-.~!$&'()*+,;=:@\/]/g;
var NAME = /%[0-9A-Fa-f]{2}|[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\w\-.~!$'()*+,;:@\/?]/g;
var VALUE = /%[0-9A-Fa-f]{2}|[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\w\-.~!$'()*+,;=:@\/?]/g;

function escaped(text, keep) {
    return String(text).replace(keep, function (match) {
        if (match.length === 3) return match; // a valid %XX escape
        try {
            return encodeURIComponent(match);
        } catch (e) {
            return '%EF%BF%BD'; // a lone surrogate: U+FFFD, as a browser sends it
        }
    });
}

// the query string a request came with, rebuilt from CloudFront's object: each name with
// each of its values (multiValue, in order), a name with an empty value alone
function query(querystring) {
    var parts = [];
    var names = querystring && typeof querystring === 'object' ? Object.keys(querystring) : [];
    for (var i = 0; i < names.length; i++) {
        var field = querystring[names[i]] || {};
        var values = field.multiValue && field.multiValue.length ? field.multiValue : [field];
        for (var j = 0; j < values.length; j++) {
            var value = values[j] ? values[j].value : undefined;
            var name = escaped(names[i], NAME);
            var empty = value === undefined || value === null || value === '';
            parts.push(empty ? name : name + '=' + escaped(value, VALUE));
        }
    }
    return parts.length ? '?' + parts.join('&') : '';
}

// --- invitations: /P/_auth?Policy=...&Signature=...&Key-Pair-Id=...[&to=album/] -------------
// A link 'gallery invite' signed turns into CloudFront's three signed cookies and a 302 into
// the gallery. The RSA signature is not checked here (CloudFront checks the cookies on every
// later request): only the shape, so a bad link is refused at once, and the 302 never leaves
// the gallery. Anything wrong: 302 to /private.html, no cookies.
var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~';
var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// CloudFront's base64 (+ -> -, = -> _, / -> ~), strictly: is text of that shape?
function base64ish(text) {
    return text.length % 4 === 0 && /^[A-Za-z0-9\-~]*_{0,2}$/.test(text);
}

// the bytes of CloudFront's base64 as a binary string, or null
function unbase64(text) {
    if (!base64ish(text)) return null;
    var abc = B64; // a local: a global is slow to read in Node's vm (the tests)
    var body = text.replace(/_+$/, '');
    var out = '';
    for (var i = 0; i < body.length; i += 4) {
        var n = 0;
        for (var j = i; j < i + 4; j++) {
            n = n * 64 + (j < body.length ? abc.indexOf(body.charAt(j)) : 0);
        }
        out += String.fromCharCode(n >> 16 & 255, n >> 8 & 255, n & 255);
    }
    return out.slice(0, out.length - (text.length - body.length));
}

function two(n) {
    return (n < 10 ? '0' : '') + n;
}

function httpDate(seconds) {
    var d = new Date(seconds * 1000);
    return DAYS[d.getUTCDay()] + ', ' + two(d.getUTCDate()) + ' ' + MONTHS[d.getUTCMonth()] + ' ' +
        d.getUTCFullYear() + ' ' + two(d.getUTCHours()) + ':' + two(d.getUTCMinutes()) + ':' +
        two(d.getUTCSeconds()) + ' GMT';
}

// the one value of a query parameter, decoded; null when absent, repeated or badly encoded
function param(querystring, name) {
    var field = querystring && querystring[name];
    if (!field || (field.multiValue && field.multiValue.length > 1)) return null;
    try {
        return decodeURIComponent(String(field.value === undefined ? '' : field.value));
    } catch (e) {
        return null;
    }
}

function epoch(condition, name) {
    var when = condition && condition[name];
    var t = when && when['AWS:EpochTime'];
    return typeof t === 'number' && t % 1 === 0 && t > 0 && t < 253402300800 ? t : null;
}

// the checked invitation: {policy, signature, keyId, expires, to}, or null
function invitation(request, gallery) {
    // P: segments a cookie Path and a Location can carry as they are (no ';', '\\', '.', '..')
    if (!/^(\/[\w\-.~!$&'()*+,=:@%]+)+$/.test(gallery) || /\/\.\.?(\/|$)/.test(gallery)) return null;
    var q = request.querystring;
    var policy = param(q, 'Policy');
    var signature = param(q, 'Signature');
    var keyId = param(q, 'Key-Pair-Id');
    var to = q && q.to ? param(q, 'to') : '';
    var host = request.headers && request.headers.host && request.headers.host.value;
    if (!policy || !signature || keyId === null || to === null) return null;
    if (typeof host !== 'string' || !/^[A-Z0-9]{8,64}$/.test(keyId)) return null;
    if (policy.length > 2048 || signature.length > 1024) return null;
    var json = unbase64(policy);
    if (json === null || !base64ish(signature)) return null;
    var statements;
    try {
        statements = JSON.parse(json).Statement;
    } catch (e) {
        return null;
    }
    if (!Array.isArray(statements) || statements.length !== 1 || !statements[0]) return null;
    var resource = statements[0].Resource;
    var condition = statements[0].Condition;
    var root = 'https://' + host.toLowerCase();
    var decoded;
    try {
        decoded = decodeURIComponent(gallery);
    } catch (e) {
        decoded = gallery;
    }
    if (resource !== root + gallery + '/*' && resource !== root + decoded + '/*') return null;
    var now = Date.now() / 1000;
    var expires = epoch(condition, 'DateLessThan');
    if (expires === null || expires <= now) return null;
    if (condition.DateGreaterThan !== undefined) {
        var start = epoch(condition, 'DateGreaterThan');
        if (start === null || start > now) return null;
    }
    // to: a relative path inside the gallery, decoded once; no scheme, host, '..', '%', '\'
    if (to.length > 1024 || /[\x00-\x1f\x7f\\%:?#]|^\/|\/\/|(^|\/)\.\.?(\/|$)/.test(to)) return null;
    return { policy: policy, signature: signature, keyId: keyId, expires: expires, to: to };
}

function authorize(request, gallery) {
    var link = invitation(request, gallery);
    var headers = { location: { value: '/private.html' }, 'cache-control': { value: 'no-store' } };
    var response = { statusCode: 302, statusDescription: 'Found', headers: headers };
    if (!link) return response;
    headers.location.value = gallery + '/' + escaped(link.to, PATH);
    var attributes = 'Path=' + gallery + '/; Secure; HttpOnly; SameSite=Lax; Expires=' +
        httpDate(link.expires);
    response.cookies = {
        'CloudFront-Policy': { value: link.policy, attributes: attributes },
        'CloudFront-Signature': { value: link.signature, attributes: attributes },
        'CloudFront-Key-Pair-Id': { value: link.keyId, attributes: attributes }
    };
    return response;
}

function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (typeof uri !== 'string') return request;
    if (/.\/_auth$/.test(uri)) return authorize(request, uri.slice(0, -6));
    if (uri.charAt(uri.length - 1) === '/') {
        request.uri = uri + 'index.html';
        return request;
    }
    // the last segment of the key S3 sees (it decodes %2F and %2E): a dot names a file
    var decoded = uri.replace(/%2f/gi, '/');
    var last = decoded.slice(decoded.lastIndexOf('/') + 1);
    if (last === '' || /\.|%2e/i.test(last)) return request;
    // one leading slash: "//host/" or "/\host/" would send the browser to another site
    var path = '/' + escaped(uri, PATH).replace(/^\/+/, '');
    return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: { location: { value: path + '/' + query(request.querystring) } }
    };
}
