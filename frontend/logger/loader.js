/* Lookout loader snippet: the readable source of loader.html, which goes inline into the
 * application's index.html (build.py generates loader.html from this file).
 *
 * Why not a plain <script async src=…>: an async or defer script delays the window load event
 * until it has loaded or failed, so a monitoring host that accepts connections but never
 * answers holds the page's load event forever. A script injected from the load handler cannot
 * delay it. Nothing is lost by loading late: timings come from the Navigation Timing entry, and
 * errors raised before the logger arrives are buffered here (at most 20) for it to report.
 * Configure with window.LookoutConfig = {endpoint, sample, env, release, maxErrors}.
 */
(function (w, d) {
  try {
    var queue = [];
    var keep = function (e) { if (queue.length < 20) queue.push(e); };
    var inject = function () {
      var s = d.createElement('script');
      s.src = 'https://monitoring-host:3000/logger.js';
      s.async = true;
      d.head.appendChild(s);
    };
    // logger.js calls off() when it starts and reports what the queue holds.
    w.__lookout = {
      q: queue,
      off: function () {
        w.removeEventListener('error', keep, true);
        w.removeEventListener('unhandledrejection', keep);
      }
    };
    w.addEventListener('error', keep, true);
    w.addEventListener('unhandledrejection', keep);
    if (d.readyState == 'complete') inject();
    else w.addEventListener('load', inject);
  } catch (e) {}
})(window, document);
