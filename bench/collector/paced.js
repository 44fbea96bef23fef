// Open-loop load at a fixed rate (wrk cannot pace and wrk2 is not in Debian): requests are sent
// on schedule whether or not earlier ones have answered (up to 64 connections), so a server stall
// cannot slow the sender down. Two latencies are kept: from the actual send (the server's answer
// time) and from the scheduled send (adds the sender's own timer jitter, about a millisecond,
// since a 1 ms timer is used instead of a busy loop that would steal a core from the server).
// Usage: node paced.js URL RATE SECONDS BODY_FILE
'use strict';
const http = require('http');
const fs = require('fs');

const [url, rateArg, secondsArg, bodyFile] = process.argv.slice(2);
const rate = Number(rateArg), seconds = Number(secondsArg);
const body = fs.readFileSync(bodyFile);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const headers = {
  'Content-Type': 'text/plain;charset=UTF-8',
  'Content-Length': body.length,
  Origin: 'http://app.example',
  'X-Real-IP': '10.1.0.1',
};

const total = Math.round(rate * seconds);
const latencies = [];
const scheduleLatencies = [];
const statuses = {};
let sent = 0, done = 0, errors = 0;
const start = process.hrtime.bigint();
const intervalNs = BigInt(Math.round(1e9 / rate));

function send(scheduled) {
  const sentAt = process.hrtime.bigint();
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (res) => {
    res.resume();
    res.on('end', () => {
      const end = process.hrtime.bigint();
      latencies.push(Number(end - sentAt) / 1e6);
      scheduleLatencies.push(Number(end - scheduled) / 1e6);
      statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
      finish();
    });
  });
  req.on('error', () => { errors++; finish(); });
  req.end(body);
}

function finish() {
  if (++done < total) return;
  latencies.sort((a, b) => a - b);
  scheduleLatencies.sort((a, b) => a - b);
  const pick = (list, p) => +list[Math.min(list.length - 1, Math.floor(p * list.length))].toFixed(2);
  const q = (p) => pick(latencies, p);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({
    rate, seconds, sent, answered: latencies.length, errors, statuses,
    achieved_rate: +(sent / elapsed).toFixed(1),
    p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: q(1),
    from_schedule_p99_ms: pick(scheduleLatencies, 0.99),
  }));
  agent.destroy();
}

(function tick() {
  const now = process.hrtime.bigint();
  while (sent < total && start + BigInt(sent) * intervalNs <= now) {
    send(start + BigInt(sent) * intervalNs);
    sent++;
  }
  if (sent < total) setTimeout(tick, 1);
})();
