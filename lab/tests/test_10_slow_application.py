"""Make the application slow (a throttled network link, see labkit/slow.py) early in the
session: LookoutSlowProbe has `for: 5m`, so its email is awaited by the last test module
(test_90_slow_probe_alert.py) while the other tests run."""
import time

PROBE = 'probe_duration_seconds{job="blackbox-http"}'
# P95 over the 10-minute window (at most 120 samples at the lab's 5 s interval) stays above
# 2 s while more than 5 % of the samples are slow: 8 slow probes keep it there for the
# 5 minutes of `for:` and beyond.
SLOW_PROBES = 8


def probe_samples(lab, since: float) -> list[float]:
    result = lab.query(f"{PROBE}[10m]")
    return [float(v) for series in result for t, v in series["values"] if float(t) >= since]


def test_throttled_application_makes_probes_slower_than_2s(lab):
    lab.require("nginx")
    # The demo traffic shares the throttled link; without it only the probes use it.
    traffic = lab.kind("traffic") == "run"
    if traffic:
        lab.lab_command("stop", "traffic")
    lab.lab_command("slow", "nginx", "on", "--seconds", "3")
    lab.timeline["slow_on"] = started = time.time()
    try:
        deadline = started + 120
        slow = []
        while time.time() < deadline and len(slow) < SLOW_PROBES:
            time.sleep(3)
            slow = [v for v in probe_samples(lab, started) if v > 2]
    finally:
        lab.lab_command("slow", "nginx", "off")
        if traffic:
            lab.lab_command("start", "traffic")
    lab.timeline["slow_off"] = time.time()
    assert len(slow) >= SLOW_PROBES, f"only {len(slow)} probes took over 2 s while throttled: {slow}"
    assert max(slow) < 5, "probes must stay successful (slow, not down)"
    # Back to normal: the next probes are fast again.
    time.sleep(11)
    recent = probe_samples(lab, time.time() - 6)
    assert recent and max(recent) < 1, recent
