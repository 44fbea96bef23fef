/* Lookout browser logger: page-load timings, Core Web Vitals and JS errors, sent as Loki push
 * JSON to the Lookout collector. Rules it keeps (see docs/frontend-logger.md):
 * - it never throws into the page: every entry point is inside try/catch;
 * - on load it only reads its config and attaches listeners; work happens in event handlers;
 * - when the monitoring host fails or is slow (2 s), it stops sending for a back-off period
 *   and writes events to the console instead (circuit breaker);
 * - ES5 only, so an old browser cannot even hit a syntax error. Size budget: 2 KB gzipped.
 */
(function (w) {
  var d, nav, con, me, conf, endpoint, env, release;
  var maxErrors = 10, queue = [], timer = 0, busy = 0, blockedUntil = 0, backoff = 0;
  var seen = {}, errors = 0, lastVitals = '', interactions = {};
  var lcp, cls, session = 0, sessionFirst = 0, sessionLast = 0;

  // data-* attributes on the script tag win over the window.LookoutConfig global. Values
  // become strings: Loki label values must be strings, whatever the page put in the global.
  function opt(key, fallback) {
    var v = get(get(me, 'dataset'), key);
    if (v == null || v === '') v = get(conf, key);
    return v == null || v === '' ? fallback : str(v);
  }
  function str(v, max) {
    try { return v == null ? '' : String(v).slice(0, max || 300); } catch (e) { return ''; }
  }
  function num(v) {
    return Math.round(v) || 0;
  }
  function get(o, key) {
    try { return o[key]; } catch (e) {}
  }
  function toConsole(items) {
    try { items.forEach(function (it) { con.info('[lookout]', it[2]); }); } catch (e) {}
  }
  function later() {
    if (!timer) timer = w.setTimeout(flush, 1000);
  }

  function add(kind, fields) {
    var line = { kind: kind };
    for (var k in fields) line[k] = fields[k];
    line.page = str(get(w.location, 'pathname'));
    // Bounded even if flushing stalls; 10 errors + pageload + vitals fit easily.
    if (queue.length < 50) queue.push([kind, Date.now() + '000000', JSON.stringify(line)]);
    later();
  }

  // Loki push format, one stream per kind, all in one request.
  function payload(items) {
    var streams = {}, out = [];
    items.forEach(function (it) {
      var s = streams[it[0]];
      // JSON drops an unset (undefined) env or release.
      if (!s) out.push(s = streams[it[0]] = { stream: { app: 'frontend', kind: it[0], env: env, release: release }, values: [] });
      s.values.push([it[1], it[2]]);
    });
    return JSON.stringify({ streams: out });
  }

  function fail(items) {
    backoff = Math.min(backoff * 2 || 30000, 300000);
    blockedUntil = Date.now() + backoff;
    try { con.warn('[lookout] unreachable, pausing ' + backoff / 1000 + ' s'); } catch (e) {}
    toConsole(items);
  }

  // Visible page: fetch with a 2 s timeout, one request in flight at a time. Page going away:
  // sendBeacon (or fetch keepalive); there is no time for a CORS preflight then, so the same
  // JSON goes as text/plain (CORS-safelisted), which the collector accepts.
  function send(body, items, hiding) {
    var ctl, timeout;
    function done(ok) {
      try {
        w.clearTimeout(timeout);
        busy = 0;
        if (ok) backoff = 0; else fail(items);
        if (queue.length) later();
      } catch (e) {}
    }
    try { if (hiding && nav.sendBeacon(endpoint, body)) return; } catch (e) {}
    busy = 1;
    try {
      // No AbortController (very old browser): this throws and the event goes to the console.
      ctl = new w.AbortController();
      // The abort rejects the fetch, which reports the failure.
      timeout = w.setTimeout(function () { ctl.abort(); }, 2000);
      w.fetch(endpoint, {
        method: 'POST', body: body, credentials: 'omit', keepalive: hiding, signal: ctl.signal,
        headers: { 'Content-Type': hiding ? 'text/plain' : 'application/json' }
      }).then(function (r) { done(r.ok); }, function () { done(0); });
    } catch (e) { done(0); }
  }

  function flush(hiding) {
    try {
      w.clearTimeout(timer);
      timer = 0;
      if (!queue.length || (busy && !hiding)) return;
      var items = queue;
      queue = [];
      if (Date.now() < blockedUntil || nav.onLine === !1) toConsole(items);
      else send(payload(items), items, hiding);
    } catch (e) {}
  }

  function onError(ev) {
    try {
      if (errors >= maxErrors) return;
      // The event is the browser's own; what was thrown (err, reason) can be anything.
      var type = ev.type, target = ev.target, err = ev.error;
      var message, source, line = 0, col = 0;
      if (type === 'unhandledrejection') {
        err = ev.reason;
        message = get(err, 'message') || err;
      } else if (target && target !== w && target.nodeName) {
        // A failed <img>/<script>/<link>: it does not bubble, the capture listener sees it.
        type = 'resource';
        message = 'failed to load ' + target.nodeName;
        source = target.src || target.href;
      } else {
        type = 'error';
        message = ev.message || get(err, 'message');
        source = ev.filename;
        line = num(ev.lineno);
        col = num(ev.colno);
      }
      var info = { type: type, message: str(message), source: str(source), line: line, col: col, stack: str(get(err, 'stack'), 1500) };
      var key = JSON.stringify(info);
      if (seen[key]) return;
      seen[key] = 1;
      errors++;
      add('error', info);
    } catch (e) {}
  }

  function pageload() {
    try {
      var n = w.performance.getEntriesByType('navigation')[0];
      if (n) add('pageload', {
        ttfb: num(n.responseStart), dcl: num(n.domContentLoadedEventEnd), load: num(n.loadEventEnd),
        dns: num(n.domainLookupEnd - n.domainLookupStart), tcp: num(n.connectEnd - n.connectStart),
        tls: n.secureConnectionStart > 0 ? num(n.connectEnd - n.secureConnectionStart) : 0,
        transfer_size: num(n.transferSize), nav_type: n.type
      });
    } catch (e) {}
  }

  function observe(type, fn, threshold) {
    try {
      var PO = w.PerformanceObserver, types = PO.supportedEntryTypes;
      if (types && types.indexOf(type) < 0) return;
      new PO(function (list) {
        try { list.getEntries().forEach(fn); } catch (e) {}
      }).observe({ type: type, buffered: 1, durationThreshold: threshold });
      return 1;
    } catch (e) {}
  }

  // CLS: the largest session window (shifts < 1 s apart, window at most 5 s), as web-vitals.
  function onShift(e) {
    if (e.hadRecentInput) return;
    if (session && e.startTime - sessionLast < 1000 && e.startTime - sessionFirst < 5000) session += e.value;
    else { session = e.value; sessionFirst = e.startTime; }
    sessionLast = e.startTime;
    if (!(cls > session)) cls = session;
  }
  function onInteraction(e) {
    var id = e.interactionId;
    if (id && !(interactions[id] >= e.duration)) interactions[id] = e.duration;
  }

  // Vitals are final when the page is hidden; sent again only if they changed since.
  function hidden(ev) {
    try {
      if (ev.type != 'pagehide' && d.visibilityState != 'hidden') return;
      var v = {}, all = [];
      // INP: the longest interaction, ignoring one in every 50 (as web-vitals does).
      for (var id in interactions) all.push(interactions[id]);
      all.sort(function (a, b) { return b - a; });
      if (lcp != null) v.lcp = num(lcp);
      if (cls != null) v.cls = Math.round(cls * 1e4) / 1e4;
      if (all.length) v.inp = num(all[Math.min(all.length - 1, Math.floor(all.length / 50))]);
      var s = JSON.stringify(v);
      if (s != '{}' && s != lastVitals) add('vitals', v);
      lastVitals = s;
      flush(true);
    } catch (e) {}
  }

  try {
    d = w.document;
    // A second copy (plain tag and loader both present) must not double every event.
    if (!d || w.__lookoutLoaded) return;
    w.__lookoutLoaded = 1;
    nav = w.navigator || {};
    con = w.console;
    me = d.currentScript;
    conf = w.LookoutConfig;
    // The collector rewrites this literal to its configured push URL when it serves the file.
    endpoint = opt('endpoint', 'https://monitoring-host:3100/loki/api/v1/push');
    env = opt('env');
    release = opt('release');
    var sample = +opt('sample', 1), early = w.__lookout;
    maxErrors = +opt('maxErrors', 10);
    if (maxErrors !== maxErrors) maxErrors = 10;
    // Stop the loader snippet's early-error buffer; sampled out means leave the page alone.
    try { early.off(); } catch (e) {}
    if (Math.random() >= sample) return;

    w.addEventListener('error', onError, 1);
    w.addEventListener('unhandledrejection', onError);
    // Errors the loader snippet buffered before this script arrived.
    try { early.q.forEach(onError); } catch (e) {}

    observe('largest-contentful-paint', function (e) { lcp = e.startTime; });
    if (observe('layout-shift', onShift)) cls = 0;
    observe('event', onInteraction, 40);
    observe('first-input', onInteraction);

    d.addEventListener('visibilitychange', hidden);
    w.addEventListener('pagehide', hidden);
    // Timings come from the navigation entry, so reading them after load loses nothing.
    if (d.readyState == 'complete') w.setTimeout(pageload, 0);
    else w.addEventListener('load', function () { w.setTimeout(pageload, 0); });
  } catch (e) {}
})(window);
