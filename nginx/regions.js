// regions.js - njs for the regional front nginx (nginx/regions.conf.in):
// picks the region of a POST /rider or /driver from its location and the
// bounding boxes in $rm_regions ("name:xmin,ymin,xmax,ymax ..."; the first
// box that holds the point wins, edges included), then hands the request,
// body and all, to that region's stack. A body that is not JSON with a
// numeric location goes to the first region, whose service answers the
// usual 400; a location outside every box is answered 400 here.
function parse(spec) {
    return spec.split(/\s+/).filter(function (s) { return s.length; }).map(function (s) {
        var p = s.split(':'), b = p[1].split(',').map(Number);
        return { name: p[0], x0: b[0], y0: b[1], x1: b[2], y1: b[3] };
    });
}

function regionOf(regions, x, y) {
    for (var i = 0; i < regions.length; i++) {
        var g = regions[i];
        if (x >= g.x0 && x <= g.x1 && y >= g.y0 && y <= g.y1)
            return g.name;
    }
    return null;
}

function route(r) {
    var regions = parse(r.variables.rm_regions);
    var body = null, name = regions[0].name;
    try { body = JSON.parse(r.requestText || ''); } catch (e) { body = null; }
    var loc = body && typeof body === 'object' ? body.location : null;
    if (loc && typeof loc.x === 'number' && typeof loc.y === 'number') {
        name = regionOf(regions, loc.x, loc.y);
        if (!name) {
            r.headersOut['Content-Type'] = 'application/json';
            r.return(400, '{"error":"location outside every region","field":"location"}');
            return;
        }
    }
    r.headersOut['X-Region'] = name;
    r.internalRedirect('/@region/' + name + r.uri);
}

export default { route, parse, regionOf };
