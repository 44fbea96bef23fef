// Unit tests of the browser logger in a fake browser (test-support/fake-browser.js).
// Every behaviour is checked against both the readable source and the shipped minified file.
'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { makeBrowser, NAV_ENTRY, START_MS } = require('../test-support/fake-browser.js');

for (const file of ['logger.js', 'logger.min.js']) {
  // Runs the logger in a fresh fake browser and returns it.
  const start = (opts) => { const b = makeBrowser(opts); b.run(file); return b; };

  describe(`${file}: payload`, () => {
    it('sends one pageload event as exact Loki push JSON with a nanosecond string timestamp', async () => {
      const b = start();
      assert.equal(b.fetchCalls.length, 0, 'nothing is sent while the script starts');
      b.tick(0); // pageload is read in a timer after load
      b.tick(1000); // batch window
      await b.settle();
      assert.equal(b.fetchCalls.length, 1);
      const call = b.fetchCalls[0];
      assert.equal(call.url, 'https://monitoring-host:3100/loki/api/v1/push');
      assert.equal(call.init.method, 'POST');
      assert.equal(call.init.credentials, 'omit');
      assert.deepEqual(call.init.headers, { 'Content-Type': 'application/json' });
      const expectedLine = {
        kind: 'pageload', ttfb: 120, dcl: 481, load: 910, dns: 13, tcp: 48, tls: 30,
        transfer_size: 5321, nav_type: 'navigate', page: '/checkout',
      };
      const ts = String(START_MS) + '000000';
      assert.deepEqual(JSON.parse(call.body), {
        streams: [{ stream: { app: 'frontend', kind: 'pageload' }, values: [[ts, JSON.stringify(expectedLine)]] }],
      });
      assert.match(ts, /^\d{19}$/);
    });

    it('takes endpoint, env and release from data-* attributes over the LookoutConfig global', async () => {
      const b = start({
        script: { dataset: { endpoint: 'https://mon.example/push', env: 'staging' } },
        tweak: (w) => { w.LookoutConfig = { env: 'ignored', release: '1.4.2', endpoint: 'https://other.example' }; },
      });
      b.tick(0); b.tick(1000);
      await b.settle();
      assert.equal(b.fetchCalls[0].url, 'https://mon.example/push');
      assert.deepEqual(JSON.parse(b.fetchCalls[0].body).streams[0].stream,
        { app: 'frontend', kind: 'pageload', env: 'staging', release: '1.4.2' });
    });

    it('turns non-string config values into string labels (Loki label values are strings)', async () => {
      const b = start({ tweak: (w) => { w.LookoutConfig = { env: 'prod', release: 1.2, maxErrors: 1 }; } });
      b.windowError({ message: 'a' });
      b.windowError({ message: 'b' });
      b.tick(1000);
      await b.settle();
      assert.deepEqual(JSON.parse(b.fetchCalls[0].body).streams[0].stream, { app: 'frontend', kind: 'error', env: 'prod', release: '1.2' });
      assert.equal(b.linesOf('error').length, 1, 'a numeric maxErrors from the global still applies');
    });

    it('waits for the load event when it starts before load, then reports from the navigation entry', async () => {
      const b = start({ readyState: 'loading' });
      b.tick(5000);
      assert.equal(b.fetchCalls.length, 0, 'no work before load');
      b.fire('window', 'load', { type: 'load' });
      b.tick(0); b.tick(1000);
      await b.settle();
      assert.deepEqual(b.linesOf('pageload').map((l) => l.load), [910]);
    });

    it('omits tls when the connection was not secure', async () => {
      const b = start({ navEntry: { ...NAV_ENTRY, secureConnectionStart: 0 } });
      b.tick(0); b.tick(1000);
      await b.settle();
      assert.equal(b.linesOf('pageload')[0].tls, 0);
    });
  });

  describe(`${file}: errors`, () => {
    it('reports a runtime error with message, source, line, column, truncated stack and page', async () => {
      const b = start();
      const stack = 'Error: boom\n' + '    at f (app.js:1:1)\n'.repeat(200);
      b.windowError({ message: 'Uncaught Error: boom', filename: 'http://app/app.js', lineno: 12, colno: 7, error: { message: 'boom', stack } });
      b.tick(1000);
      await b.settle();
      const [line] = b.linesOf('error');
      assert.deepEqual({ ...line, stack: undefined }, {
        kind: 'error', type: 'error', message: 'Uncaught Error: boom', source: 'http://app/app.js',
        line: 12, col: 7, stack: undefined, page: '/checkout',
      });
      assert.equal(line.stack, stack.slice(0, 1500));
    });

    it('reports a failed resource load seen by the capture listener', async () => {
      const b = start();
      const capture = b.listeners.window.find((l) => l.type === 'error');
      assert.ok(capture.capture, 'error listener must capture: resource errors do not bubble');
      b.fire('window', 'error', { type: 'error', target: { nodeName: 'IMG', src: 'http://app/missing.png' } });
      b.tick(1000);
      await b.settle();
      const [line] = b.linesOf('error');
      assert.equal(line.type, 'resource');
      assert.equal(line.source, 'http://app/missing.png');
      assert.match(line.message, /IMG/);
    });

    it('reports unhandled rejections with the reason message and stack', async () => {
      const b = start();
      b.fire('window', 'unhandledrejection', { type: 'unhandledrejection', reason: { message: 'nope', stack: 'Error: nope\n at x' } });
      b.fire('window', 'unhandledrejection', { type: 'unhandledrejection', reason: 'plain string' });
      b.tick(1000);
      await b.settle();
      const lines = b.linesOf('error');
      assert.deepEqual(lines.map((l) => [l.type, l.message, l.stack]),
        [['unhandledrejection', 'nope', 'Error: nope\n at x'], ['unhandledrejection', 'plain string', '']]);
    });

    it('deduplicates identical errors and keeps distinct ones', async () => {
      const b = start();
      for (let i = 0; i < 5; i++) b.windowError({ message: 'same', filename: 'a.js', lineno: 1, colno: 1 });
      b.windowError({ message: 'same', filename: 'a.js', lineno: 2, colno: 1 });
      b.tick(1000);
      await b.settle();
      assert.deepEqual(b.linesOf('error').map((l) => l.line), [1, 2]);
    });

    it('caps error events per page (default 10, data-max-errors overrides)', async () => {
      const b = start();
      for (let i = 0; i < 500; i++) b.windowError({ message: 'loop ' + i });
      b.tick(1000);
      await b.settle();
      assert.equal(b.linesOf('error').length, 10);
      assert.equal(b.fetchCalls.length, 1, 'an error loop is one request, not a flood');

      const c = start({ script: { dataset: { maxErrors: '3' } } });
      for (let i = 0; i < 50; i++) c.windowError({ message: 'loop ' + i });
      c.tick(1000);
      await c.settle();
      assert.equal(c.linesOf('error').length, 3);
    });

    it('reports errors the loader snippet buffered before the logger arrived and stops that buffer', async () => {
      let off = 0;
      const b = start({
        tweak: (w) => { w.__lookout = { q: [{ type: 'error', target: w, message: 'early', lineno: 3 }], off: () => { off++; } }; },
      });
      b.tick(1000);
      await b.settle();
      assert.equal(off, 1);
      assert.deepEqual(b.linesOf('error').map((l) => l.message), ['early']);
    });
  });

  describe(`${file}: batching and sending`, () => {
    it('groups everything from one batch window into one request, one stream per kind', async () => {
      const b = start({ tweak: (w) => { w.LookoutConfig = { env: 'prod' }; } });
      b.tick(0);
      b.windowError({ message: 'a' });
      b.tick(500);
      b.windowError({ message: 'b' });
      b.tick(500);
      await b.settle();
      assert.equal(b.fetchCalls.length, 1);
      const { streams } = JSON.parse(b.fetchCalls[0].body);
      assert.deepEqual(streams.map((s) => [s.stream.kind, s.stream.env, s.values.length]), [['pageload', 'prod', 1], ['error', 'prod', 2]]);
      assert.ok(streams.every((s) => s.values.every(([ts, line]) => typeof ts === 'string' && typeof line === 'string')));
    });

    it('keeps one request in flight; later events wait for it', async () => {
      const b = start({ fetchMode: 'manual' });
      b.windowError({ message: 'first' });
      b.tick(1000);
      b.windowError({ message: 'second' });
      b.tick(1000);
      assert.equal(b.fetchCalls.length, 1);
      b.fetchCalls[0].resolve({ ok: true, status: 204 });
      await b.settle();
      b.tick(1000);
      await b.settle();
      assert.equal(b.fetchCalls.length, 2);
      assert.deepEqual(b.linesOf('error').map((l) => l.message), ['first', 'second']);
    });

    it('on hide sends final vitals and the queue with sendBeacon (a string body: text/plain)', async () => {
      const b = start();
      b.emit('largest-contentful-paint', [{ startTime: 800 }, { startTime: 1234.4 }]);
      // Two session windows: 0.1+0.05 (within 1 s) and then 0.12 alone; input-driven shift ignored.
      b.emit('layout-shift', [
        { startTime: 1000, value: 0.1 }, { startTime: 1500, value: 0.05 },
        { startTime: 1600, value: 5, hadRecentInput: true }, { startTime: 4000, value: 0.12 },
      ]);
      b.emit('event', [{ interactionId: 7, duration: 48 }, { interactionId: 7, duration: 120 }, { interactionId: 9, duration: 64 }]);
      b.emit('first-input', [{ interactionId: 9, duration: 64 }]);
      b.windowError({ message: 'before hide' });
      b.hide();
      assert.equal(b.beacons.length, 1);
      assert.equal(typeof b.beacons[0].body, 'string');
      assert.equal(b.beacons[0].url, 'https://monitoring-host:3100/loki/api/v1/push');
      assert.deepEqual(b.linesOf('vitals'), [{ kind: 'vitals', lcp: 1234, cls: 0.15, inp: 120, page: '/checkout' }]);
      assert.deepEqual(b.linesOf('error').map((l) => l.message), ['before hide']);
      b.fire('window', 'pagehide', { type: 'pagehide' });
      assert.equal(b.beacons.length, 1, 'pagehide right after hide sends nothing new');
      assert.equal(b.fetchCalls.length, 0);
    });

    it('reports cls 0 when layout shifts are observable but none happened, and nothing unmeasurable', async () => {
      const b = start({ supportedEntryTypes: ['navigation', 'layout-shift'] });
      b.hide();
      assert.deepEqual(b.linesOf('vitals'), [{ kind: 'vitals', cls: 0, page: '/checkout' }]);
      const c = start({ supportedEntryTypes: [] });
      c.hide();
      assert.equal(c.beacons.length, 0, 'no vitals measured, nothing queued: nothing sent');
    });

    it('falls back to fetch keepalive with text/plain when sendBeacon refuses', async () => {
      const b = start({ beaconResult: false });
      b.windowError({ message: 'x' });
      b.hide();
      await b.settle();
      assert.equal(b.fetchCalls.length, 1);
      assert.equal(b.fetchCalls[0].init.keepalive, true);
      assert.deepEqual(b.fetchCalls[0].init.headers, { 'Content-Type': 'text/plain' });
    });

    it('writes to the console instead of sending when the browser is offline', async () => {
      const b = start({ tweak: (w) => { w.navigator.onLine = false; } });
      b.windowError({ message: 'offline' });
      b.tick(1000);
      assert.equal(b.fetchCalls.length, 0);
      assert.ok(b.consoleLines.some((l) => l[0] === 'info' && l[2].includes('offline')));
    });
  });

  describe(`${file}: circuit breaker`, () => {
    for (const mode of ['http500', 'refuse', 'hang']) {
      it(`after a failure (${mode}) stops sending for 30 s, doubling, and writes to the console`, async () => {
        const b = start({ fetchMode: mode });
        b.windowError({ message: 'e1' });
        b.tick(1000);
        await b.settle();
        if (mode === 'hang') {
          assert.equal(b.consoleLines.length, 0, 'still waiting inside the 2 s timeout');
          b.tick(2000);
          await b.settle();
          assert.ok(b.fetchCalls[0].aborted, 'the 2 s timeout aborts the request');
        }
        assert.equal(b.fetchCalls.length, 1);
        assert.ok(b.consoleLines.some((l) => l[0] === 'warn' && /30 s/.test(l[1])));
        assert.ok(b.consoleLines.some((l) => l[0] === 'info' && l[1] === '[lookout]' && l[2].includes('"e1"')));

        b.windowError({ message: 'e2' });
        b.tick(1000);
        await b.settle();
        assert.equal(b.fetchCalls.length, 1, 'breaker open: no request');
        assert.ok(b.consoleLines.some((l) => l[0] === 'info' && l[2].includes('"e2"')));

        b.tick(30000);
        b.state.fetchMode = 'refuse';
        b.windowError({ message: 'e3' });
        b.tick(1000);
        await b.settle();
        assert.equal(b.fetchCalls.length, 2, 'after the back-off one probe request goes out');
        assert.ok(b.consoleLines.some((l) => l[0] === 'warn' && /60 s/.test(l[1])), 'second failure doubles the back-off');

        b.tick(60000);
        b.state.fetchMode = 'ok';
        b.windowError({ message: 'e4' });
        b.tick(1000);
        await b.settle();
        assert.equal(b.fetchCalls.length, 3);
        b.state.fetchMode = 'refuse';
        b.windowError({ message: 'e5' });
        b.tick(1000);
        await b.settle();
        assert.ok(b.consoleLines.some((l) => l[0] === 'warn' && /30 s/.test(l[1]) && l !== b.consoleLines[0]),
          'a success resets the back-off');
      });
    }

    it('sends nothing with sendBeacon while the breaker is open; the console gets it', async () => {
      const b = start({ fetchMode: 'refuse' });
      b.windowError({ message: 'e1' });
      b.tick(1000);
      await b.settle();
      b.windowError({ message: 'on the way out' });
      b.hide();
      assert.equal(b.beacons.length, 0);
      assert.ok(b.consoleLines.some((l) => l[0] === 'info' && l[2].includes('on the way out')));
    });
  });

  describe(`${file}: never hurts the page`, () => {
    const hostile = () => {
      const throwing = {};
      for (const k of ['message', 'stack', 'name', 'toString']) Object.defineProperty(throwing, k, { get() { throw new Error('getter ' + k); } });
      return [
        { type: 'error', target: undefined, error: throwing, message: undefined },
        { type: 'error', error: Object.create(null), message: { toString() { throw new Error('toString'); } } },
        { type: 'error', error: Symbol('s'), lineno: { valueOf() { return NaN; } }, colno: 'x' },
        { type: 'unhandledrejection', reason: throwing },
        { type: 'unhandledrejection', reason: Object.create(null) },
        { type: 'unhandledrejection', reason: Symbol('why') },
        { type: 'unhandledrejection', reason: null },
        { type: 'unhandledrejection', reason: undefined },
        { type: 'error', target: { get nodeName() { throw new Error('nodeName'); } } },
        Object.defineProperty({}, 'type', { get() { throw new Error('type'); } }),
        null,
        undefined,
        42,
      ];
    };

    it('no handler throws on hostile error objects, and sane ones still go through afterwards', async () => {
      const b = start();
      for (const ev of hostile()) {
        for (const type of ['error', 'unhandledrejection']) {
          assert.doesNotThrow(() => b.fire('window', type, ev));
        }
      }
      b.windowError({ message: 'still works' });
      b.tick(1000);
      await b.settle();
      assert.ok(b.linesOf('error').some((l) => l.message === 'still works'));
      assert.ok(b.linesOf('error').some((l) => l.message === 'Symbol(why)'));
    });

    it('observer callbacks survive broken entries', () => {
      const b = start();
      for (const type of ['largest-contentful-paint', 'layout-shift', 'event', 'first-input']) {
        assert.doesNotThrow(() => b.emit(type, [null, Object.defineProperty({}, 'startTime', { get() { throw new Error('x'); } })]));
      }
      assert.doesNotThrow(() => b.hide());
    });

    const missing = {
      'no PerformanceObserver': { remove: ['PerformanceObserver'] },
      'no performance': { remove: ['performance'] },
      'no fetch': { remove: ['fetch'] },
      'no AbortController': { remove: ['AbortController'] },
      'no console': { remove: ['console'], fetchMode: 'refuse' },
      'no navigator': { remove: ['navigator'] },
      'no location': { remove: ['location'] },
      'no currentScript': { script: null },
      'fetch throws synchronously': { fetchMode: 'throw' },
      'sendBeacon throws': { tweak: (w) => { w.navigator.sendBeacon = () => { throw new Error('quota'); }; } },
      'LookoutConfig getter throws': { tweak: (w) => Object.defineProperty(w, 'LookoutConfig', { get() { throw new Error('cfg'); } }) },
      'getEntriesByType throws': { tweak: (w) => { w.performance.getEntriesByType = () => { throw new Error('nav'); }; } },
      'observe throws': { tweak: (w) => { w.PerformanceObserver.prototype.observe = () => { throw new Error('obs'); }; } },
    };
    for (const [name, opts] of Object.entries(missing)) {
      it(`runs without throwing: ${name}`, async () => {
        const b = makeBrowser(opts);
        assert.doesNotThrow(() => b.run(file));
        assert.doesNotThrow(() => {
          b.tick(0);
          b.windowError({ message: 'e' });
          b.tick(1000);
          b.tick(3000);
          b.hide();
          b.fire('window', 'pagehide', { type: 'pagehide' });
        });
        await b.settle();
      });
    }

    it('a failed fetch on a page with no AbortController goes to the console, not to the page', async () => {
      const b = start({ remove: ['AbortController'] });
      b.windowError({ message: 'e' });
      b.tick(1000);
      await b.settle();
      assert.ok(b.consoleLines.some((l) => l[0] === 'info' && l[2].includes('"e"')));
    });

    it('does nothing on start beyond attaching listeners and observers', () => {
      const b = start({ readyState: 'loading' });
      assert.equal(b.fetchCalls.length + b.beacons.length + b.consoleLines.length, 0);
      assert.equal(b.pendingTimers(), 0, 'no timers before load');
      assert.deepEqual(b.listeners.window.map((l) => l.type).sort(), ['error', 'load', 'pagehide', 'unhandledrejection']);
      assert.deepEqual(b.listeners.document.map((l) => l.type), ['visibilitychange']);
    });

    it('a second copy of the script does nothing (plain tag and loader both present)', () => {
      const b = start();
      b.run(file);
      assert.equal(b.listeners.window.filter((l) => l.type === 'error').length, 1);
    });

    it('a page view that is sampled out attaches nothing and stops the loader buffer', () => {
      let off = 0;
      const b = start({ random: 0.7, script: { dataset: { sample: '0.5' } }, tweak: (w) => { w.__lookout = { q: [], off: () => { off++; } }; } });
      assert.equal(b.listeners.window.length + b.listeners.document.length, 0);
      assert.equal(off, 1);
      const c = start({ random: 0.3, script: { dataset: { sample: '0.5' } } });
      assert.ok(c.listeners.window.length > 0);
    });
  });
}
