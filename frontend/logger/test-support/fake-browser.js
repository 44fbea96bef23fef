// A fake browser for the logger's unit tests: window, document, performance, fetch, navigator,
// timers and clock, all controllable, inside a node:vm context so the real logger.js (or
// logger.min.js) runs unmodified. Lives outside test/ so `node --test` does not run it as a test.
'use strict';
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');

const LOGGER_DIR = path.join(__dirname, '..');
const START_MS = 1764064800000; // 2025-11-25T10:00:00Z

const NAV_ENTRY = {
  responseStart: 120.4, domContentLoadedEventEnd: 480.6, loadEventEnd: 910.2, loadEventStart: 905,
  domainLookupStart: 10, domainLookupEnd: 22.5, connectStart: 22.5, connectEnd: 70.1,
  secureConnectionStart: 40.3, transferSize: 5321, type: 'navigate',
};

function readSource(file) {
  return fs.readFileSync(path.join(LOGGER_DIR, file), 'utf8');
}

// fetchMode: 'ok' (204), 'http500', 'refuse' (network error), 'hang' (only an abort ends it),
// 'manual' (the test settles each call), 'throw' (fetch throws synchronously).
function makeBrowser(opts = {}) {
  const clock = { now: START_MS };
  let timers = [];
  let nextTimer = 1;
  const listeners = { window: [], document: [] };
  const fetchCalls = [];
  const beacons = [];
  const consoleLines = [];
  const observers = {};
  const supported = opts.supportedEntryTypes || ['navigation', 'largest-contentful-paint', 'layout-shift', 'event', 'first-input'];
  const state = { fetchMode: opts.fetchMode || 'ok', beaconResult: opts.beaconResult !== undefined ? opts.beaconResult : true, random: opts.random !== undefined ? opts.random : 0.42 };

  function addListener(bucket) {
    return (type, fn, capture) => listeners[bucket].push({ type, fn, capture: !!capture });
  }
  function removeListener(bucket) {
    return (type, fn) => { listeners[bucket] = listeners[bucket].filter((l) => !(l.type === type && l.fn === fn)); };
  }

  const document = {
    readyState: opts.readyState || 'complete',
    visibilityState: 'visible',
    currentScript: opts.script === undefined ? { dataset: {}, src: 'https://monitoring-host:3000/logger.js' } : opts.script,
    addEventListener: addListener('document'),
    removeEventListener: removeListener('document'),
  };

  class FakeObserver {
    constructor(cb) { this.cb = cb; }
    observe(init) { (observers[init.type] = observers[init.type] || []).push({ cb: this.cb, init }); }
  }
  FakeObserver.supportedEntryTypes = supported;

  function fetch(url, init) {
    if (state.fetchMode === 'throw') throw new TypeError('fetch exploded');
    // Copied into this realm so deepEqual does not trip over the vm context's prototypes.
    const call = { url, init: { ...init, headers: { ...(init && init.headers) } }, body: init && init.body };
    fetchCalls.push(call);
    return new Promise((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
      const signal = init && init.signal;
      if (signal) signal.addEventListener('abort', () => { call.aborted = true; reject(new Error('AbortError')); });
      if (state.fetchMode === 'ok') resolve({ ok: true, status: 204 });
      else if (state.fetchMode === 'http500') resolve({ ok: false, status: 500 });
      else if (state.fetchMode === 'refuse') reject(new TypeError('Failed to fetch'));
    });
  }

  const win = {
    document,
    location: { pathname: opts.pathname || '/checkout' },
    navigator: { onLine: true, sendBeacon: (url, body) => { beacons.push({ url, body }); return state.beaconResult; } },
    performance: { getEntriesByType: (t) => (t === 'navigation' ? [opts.navEntry || NAV_ENTRY] : []) },
    PerformanceObserver: FakeObserver,
    AbortController,
    fetch,
    console: {
      info: (...a) => consoleLines.push(['info', ...a]),
      warn: (...a) => consoleLines.push(['warn', ...a]),
    },
    setTimeout: (fn, ms) => { const id = nextTimer++; timers.push({ id, at: clock.now + (ms || 0), fn }); return id; },
    clearTimeout: (id) => { timers = timers.filter((t) => t.id !== id); },
    addEventListener: addListener('window'),
    removeEventListener: removeListener('window'),
    Date: { now: () => clock.now },
    Math: Object.assign(Object.create(Math), { random: () => state.random }),
  };
  win.window = win;
  for (const k of opts.remove || []) delete win[k];
  if (opts.tweak) opts.tweak(win);
  const context = vm.createContext(win);

  const browser = {
    win, document, clock, fetchCalls, beacons, consoleLines, listeners, observers, state,
    run(file = 'logger.js') { vm.runInContext(readSource(file), context, { filename: file }); },
    // Advances the clock, running due timers in order (including ones they schedule).
    tick(ms) {
      const end = clock.now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        clock.now = Math.max(clock.now, due.at);
        due.fn();
      }
      clock.now = end;
    },
    pendingTimers: () => timers.length,
    // Dispatches like the browser: capture listeners on window see events of any target.
    fire(bucket, type, event) {
      for (const l of listeners[bucket].filter((x) => x.type === type)) l.fn(event);
    },
    windowError(fields) { browser.fire('window', 'error', Object.assign({ type: 'error', target: win }, fields)); },
    emit(type, entries) {
      for (const o of observers[type] || []) o.cb({ getEntries: () => entries });
    },
    hide() { document.visibilityState = 'hidden'; browser.fire('document', 'visibilitychange', { type: 'visibilitychange' }); },
    settle: () => new Promise((r) => setImmediate(r)),
    // Decoded pushes: [{ streams, request }]
    pushes() { return fetchCalls.map((c) => ({ request: c, ...JSON.parse(c.body) })); },
    linesOf(kind) {
      const all = [...fetchCalls.map((c) => c.body), ...beacons.map((b) => b.body)];
      return all.flatMap((b) => JSON.parse(b).streams).filter((s) => s.stream.kind === kind)
        .flatMap((s) => s.values.map((v) => JSON.parse(v[1])));
    },
  };
  return browser;
}

module.exports = { makeBrowser, NAV_ENTRY, START_MS, LOGGER_DIR, readSource };
