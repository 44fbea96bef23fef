// The inline loader snippet (loader.html, built from loader.js) and the size budget.
'use strict';
const { it } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { makeBrowser, readSource } = require('../test-support/fake-browser.js');

// Runs loader.html's script in a fake browser whose createElement records injected scripts.
function loaderBrowser(readyState) {
  const injected = [];
  const b = makeBrowser({
    readyState,
    tweak: (w) => {
      w.document.createElement = (tag) => ({ tag, src: '', async: false });
      w.document.head = { appendChild: (el) => injected.push(el) };
    },
  });
  const html = readSource('loader.html');
  const code = html.replace(/^<script>/, '').replace(/<\/script>\s*$/, '');
  require('node:vm').runInContext(code, require('node:vm').createContext(b.win));
  return { b, injected };
}

it('loader injects logger.js only after the load event and buffers early errors', () => {
  const { b, injected } = loaderBrowser('loading');
  assert.equal(injected.length, 0, 'nothing is fetched before load');
  const early = { type: 'error', message: 'early' };
  b.fire('window', 'error', early);
  b.fire('window', 'load', { type: 'load' });
  assert.equal(injected.length, 1);
  assert.equal(injected[0].tag, 'script');
  assert.equal(injected[0].src, 'https://monitoring-host:3000/logger.js');
  assert.equal(injected[0].async, true);
  // (The queue is an array of the vm realm: compare its contents, not its prototype.)
  assert.equal(b.win.__lookout.q.length, 1);
  assert.equal(b.win.__lookout.q[0], early);
  b.win.__lookout.off();
  assert.equal(b.listeners.window.filter((l) => l.type === 'error' || l.type === 'unhandledrejection').length, 0);
});

it('loader buffers at most 20 early errors', () => {
  const { b } = loaderBrowser('loading');
  for (let i = 0; i < 100; i++) b.fire('window', 'error', { type: 'error', message: 'e' + i });
  assert.equal(b.win.__lookout.q.length, 20);
});

it('loader injects at once when the page has already loaded', () => {
  const { injected } = loaderBrowser('complete');
  assert.equal(injected.length, 1);
});

it('logger.min.js stays within 2 KB gzipped and keeps the endpoint literal the collector rewrites', () => {
  const min = readSource('logger.min.js');
  const gz = zlib.gzipSync(min, { level: 9 }).length;
  assert.ok(gz <= 2048, `logger.min.js is ${gz} B gzipped`);
  assert.ok(min.includes("'https://monitoring-host:3100/loki/api/v1/push'"));
  assert.ok(readSource('logger.js').includes("'https://monitoring-host:3100/loki/api/v1/push'"));
});
