// gallery-builder's viewer-request CloudFront Function (runtime cloudfront-js-2.0).
// It gives a private bucket behind CloudFront the answers of S3 website hosting:
//   /trip/        -> the origin is asked for /trip/index.html (and / for /index.html)
//   /trip/album   -> 301 to /trip/album/ (query string kept): the last segment has no dot
//   anything else -> passes untouched (/trip/galata.1280.3f2a.webp, /trip/manifest.json)
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

function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (typeof uri !== 'string') return request;
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
