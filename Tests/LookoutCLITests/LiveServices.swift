import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import LookoutCLI

/// The real Alertmanager from Debian (`prometheus-alertmanager`), on a free port, clustering off.
final class RealAlertmanager: @unchecked Sendable {
    let process: BackgroundProcess
    let folder: URL
    let url: String

    static var binary: String? { TestSupport.tool("prometheus-alertmanager", "alertmanager") }

    /// `smarthost` goes into the email receiver, as deploy/monitoring's rendered config does.
    init(smarthost: String, groupWait: String = "30s", host: String = "127.0.0.1", port: Int? = nil) async throws {
        guard let binary = Self.binary else { throw TestFailure("prometheus-alertmanager is not installed (scripts/install-deps installs it)") }
        folder = try TestSupport.temporaryFolder("alertmanager")
        let config = folder.appendingPathComponent("alertmanager.yml")
        try """
            global:
              smtp_smarthost: \(smarthost)
              smtp_from: lookout@shop.test
              smtp_require_tls: false
            route:
              receiver: email
              group_by: [alertname, site]
              group_wait: \(groupWait)
            receivers:
              - name: email
                email_configs:
                  - to: ops@shop.test
                    send_resolved: true
            """.write(to: config, atomically: true, encoding: .utf8)
        let port = port ?? TestSupport.freePort()
        url = "http://\(host):\(port)"
        process = try BackgroundProcess(binary, [
            "--config.file=\(config.path)", "--storage.path=\(folder.path)/data",
            "--web.listen-address=\(host):\(port)",
            // An empty address turns gossip off (it would otherwise bind 0.0.0.0:9094).
            "--cluster.listen-address=",
        ], log: folder.appendingPathComponent("alertmanager.log"))
        do {
            // 60 s, not the default 20: two suites start one each while the whole parallel
            // suite loads both cores, and 20 s once ran out for both (2026-12-03).
            try await TestSupport.waitForHTTP(url + "/-/ready", seconds: 60)
        } catch {
            process.stop()
            throw TestFailure("Alertmanager did not start: \(process.output)")
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// tests/Fixtures/fake_edge.py: Grafana, Loki (through Grafana), the push door and Prometheus's API.
final class FakeEdge: @unchecked Sendable {
    let process: BackgroundProcess
    let folder: URL
    let url: String

    static let edge = BasicAuth(user: "admin", password: "edge-password-for-tests-0123456")
    static let grafana = BasicAuth(user: "admin", password: "grafana-password-for-tests-987")
    static let origin = "http://application"

    init(healthy: Bool, host: String? = nil, port: Int? = nil) async throws {
        folder = try TestSupport.temporaryFolder("fake-edge")
        let script = TestSupport.fixtures.appendingPathComponent("fake_edge.py").path
        process = try BackgroundProcess("/usr/bin/env", [
            "python3", script, healthy ? "healthy" : "broken",
            "\(Self.edge.user):\(Self.edge.password)", "\(Self.grafana.user):\(Self.grafana.password)", Self.origin,
        ] + (host.map { [$0, "\(port ?? 0)"] } ?? []), log: folder.appendingPathComponent("fake.log"))
        // Generous: on a loaded 2-core machine python3 took over 15 s to print its port.
        let deadline = Date().addingTimeInterval(60)
        var listening: Int?
        while listening == nil && Date() < deadline {
            listening = process.output.split(separator: "\n").first.flatMap { Int($0) }
            if listening == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let listening else {
            process.stop()
            throw TestFailure("fake edge did not start: \(process.output)")
        }
        url = "http://\(host ?? "127.0.0.1"):\(listening)"
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A real Prometheus (Debian) scraping a real Blackbox Exporter that probes a real HTTP server,
/// with the job names of deploy/monitoring: what doctor's Prometheus checks read.
final class RealPrometheus: @unchecked Sendable {
    let folder: URL
    let url: String
    var processes: [BackgroundProcess] = []

    /// healthy: the probed site answers 200, every target is up, an `nginx:*` series exists.
    /// broken: the probed site is down, a `loki` target is down, no `nginx:*` series.
    init(healthy: Bool, host: String = "127.0.0.1", port: Int? = nil) async throws {
        guard let prometheus = TestSupport.tool("prometheus"), let blackbox = TestSupport.tool("prometheus-blackbox-exporter", "blackbox_exporter") else {
            throw TestFailure("prometheus and prometheus-blackbox-exporter are installed by scripts/install-deps")
        }
        folder = try TestSupport.temporaryFolder("prometheus")
        let (promPort, blackboxPort, appPort, closedPort) = (port ?? TestSupport.freePort(), TestSupport.freePort(), TestSupport.freePort(), TestSupport.freePort())
        url = "http://\(host):\(promPort)"
        do {
            // The application: Python's own HTTP server (200 for /), absent when broken.
            let site = folder.appendingPathComponent("site")
            try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
            try "ok\n".write(to: site.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
            if healthy {
                // `python3 -m http.server`, with SIGTERM back to its default (see fake_edge.py).
                let server = "import runpy, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
                    + "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM}); "
                    + "sys.argv = ['http.server', '--bind', '127.0.0.1', '--directory', sys.argv[1], sys.argv[2]]; "
                    + "runpy.run_module('http.server', run_name='__main__')"
                processes.append(try BackgroundProcess("/usr/bin/env", ["python3", "-c", server, site.path, "\(appPort)"],
                                                       log: folder.appendingPathComponent("site.log")))
            }
            try """
                modules:
                  http_200:
                    prober: http
                    timeout: 2s
                    http:
                      valid_status_codes: [200]
                      follow_redirects: false
                """.write(to: folder.appendingPathComponent("blackbox.yml"), atomically: true, encoding: .utf8)
            processes.append(try BackgroundProcess(blackbox, ["--config.file=\(folder.path)/blackbox.yml",
                                                              "--web.listen-address=127.0.0.1:\(blackboxPort)"],
                                                   log: folder.appendingPathComponent("blackbox.log")))
            let rules = healthy ? """
                groups:
                  - name: stand-in-for-the-loki-ruler
                    rules:
                      - record: nginx:requests:rate1m
                        expr: vector(2)
                """ : "groups: []\n"
            try rules.write(to: folder.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)
            let lokiJob = healthy ? "" : """
                  - job_name: loki
                    static_configs:
                      - targets: ["127.0.0.1:\(closedPort)"]
                """
            try """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: [rules.yml]
                scrape_configs:
                  - job_name: prometheus
                    static_configs:
                      - targets: ["\(host):\(promPort)"]
                  - job_name: blackbox-http
                    metrics_path: /probe
                    params:
                      module: [http_200]
                    static_configs:
                      - targets: ["http://127.0.0.1:\(appPort)/"]
                        labels:
                          site: application
                    relabel_configs:
                      - source_labels: [__address__]
                        target_label: __param_target
                      - source_labels: [__param_target]
                        target_label: instance
                      - target_label: __address__
                        replacement: 127.0.0.1:\(blackboxPort)
                \(lokiJob)
                """.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            processes.append(try BackgroundProcess(prometheus, [
                "--config.file=\(folder.path)/prometheus.yml", "--storage.tsdb.path=\(folder.path)/data",
                "--web.listen-address=\(host):\(promPort)",
            ], log: folder.appendingPathComponent("prometheus.log")))
            try await TestSupport.waitForHTTP(url + "/-/ready")
            try await waitForFirstResults(expectTargets: healthy ? 2 : 3)
        } catch {
            stop()
            throw error
        }
    }

    /// Until every target has been scraped once and the probe has a result.
    func waitForFirstResults(expectTargets: Int) async throws {
        let web = WebClient(timeoutSeconds: 2)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let targets = try? await web.send(.GET, url + "/api/v1/targets").json() as? [String: Any],
               let active = (targets["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]],
               active.count == expectTargets, active.allSatisfy({ ($0["health"] as? String) != "unknown" }),
               let probe = try? await web.send(.GET, url + "/api/v1/query?query=probe_success"),
               !Doctor.vector(from: probe).isEmpty {
                return
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw TestFailure("Prometheus did not scrape its targets in time")
    }

    func stop() {
        processes.reversed().forEach { $0.stop() }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// deploy/monitoring/edge (nginx.conf and what it includes) run by the real nginx, with only
/// addresses and paths changed: its fixed ports move to 127.0.77.3 (the edge) and its upstream
/// names to 127.0.77.2 (where the test starts each upstream on its compose port); the htpasswd
/// files come from a folder `lookout init` wrote, the certificate from the deployment's
/// EDGE_TLS_DIR (where compose mounts /etc/nginx/tls). Everything else (TLS settings, routing,
/// Origin split, auth) is what compose mounts.
final class RealEdge: @unchecked Sendable {
    static let edgeHost = "127.0.77.3"
    static let upstreamHost = "127.0.77.2"
    static let ports = [3000, 3100, 8081, 9090, 9093, 8099]

    let process: BackgroundProcess
    let folder: URL
    /// The deployment's certificate folder the edge serves from (replace files, then reload()).
    let tlsFolder: URL

    /// Fixed ports on two loopback addresses: usable only when nothing else holds them.
    static var addressesFree: Bool {
        ports.allSatisfy { !TestSupport.acceptsConnections(host: edgeHost, port: $0) && !TestSupport.acceptsConnections(host: upstreamHost, port: $0) }
            && TestSupport.tool("nginx") != nil
    }

    init(deployment: URL, main: String = "nginx.conf") async throws {
        let nginx = try TestSupport.tool("nginx").orThrow("nginx is installed by scripts/install-deps")
        folder = try TestSupport.temporaryFolder("edge")
        tlsFolder = deployment.appendingPathComponent("secrets/tls")
        let secrets = folder.appendingPathComponent("secrets")
        try FileManager.default.copyItem(at: deployment.appendingPathComponent("secrets/edge"), to: secrets)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: secrets.path)
        let edge = folder.appendingPathComponent("edge")
        try FileManager.default.createDirectory(at: edge, withIntermediateDirectories: true)
        try TestSupport.copyContents(of: deployment.appendingPathComponent("edge"), into: edge)
        let files = FileManager.default.enumerator(at: edge, includingPropertiesForKeys: nil)?.allObjects.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "conf" {
            var config = try String(contentsOf: file, encoding: .utf8)
            func replace(_ pattern: String, _ template: String) {
                let regex = try! NSRegularExpression(pattern: pattern)
                config = regex.stringByReplacingMatches(in: config, range: NSRange(config.startIndex..., in: config), withTemplate: template)
            }
            replace(#"(upstream\s+[^\s{]+\s*\{[^}]*?\bserver\s+)[A-Za-z][A-Za-z0-9_.-]*(:\d+)"#, "$1\(Self.upstreamHost)$2")
            replace(#"\blisten\s+(?:[0-9.]+:)?(\d+)"#, "listen \(Self.edgeHost):$1")
            replace(#"/etc/nginx/secrets/"#, secrets.path + "/")
            replace(#"/etc/nginx/tls/"#, tlsFolder.path + "/")
            try config.write(to: file, atomically: true, encoding: .utf8)
        }
        let file = edge.appendingPathComponent(main)
        process = try BackgroundProcess(nginx, ["-p", folder.path, "-e", "stderr", "-c", file.path,
                                                "-g", "pid \(folder.path)/nginx.pid; daemon off;"],
                                        log: folder.appendingPathComponent("nginx.log"))
        do {
            try await TestSupport.waitForHTTP("http://\(Self.edgeHost):8099/healthz")
        } catch {
            process.stop()
            throw TestFailure("the edge did not start: \(process.output)")
        }
    }

    var output: String { process.output }

    /// What run-edge.sh's watcher does after a renewal: SIGHUP, new workers with the new files.
    func reload() {
        kill(process.process.processIdentifier, SIGHUP)
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// `lookout serve`, the real collector, built with the tests.
final class RealCollector: @unchecked Sendable {
    let process: BackgroundProcess
    let folder: URL

    init(host: String, port: Int, lokiURL: String, origin: String, publicPushURL: String) async throws {
        folder = try TestSupport.temporaryFolder("collector")
        let logger = TestSupport.packageRoot.appendingPathComponent("frontend/logger/logger.js")
        process = try BackgroundProcess(TestSupport.lookoutBinary.path, [
            "serve", "--listen", "\(host):\(port)", "--loki-url", lokiURL, "--allowed-origins", origin,
            "--public-push-url", publicPushURL, "--logger-js", logger.path,
        ], log: folder.appendingPathComponent("collector.log"))
        do {
            try await TestSupport.waitForHTTP("http://\(host):\(port)/logger.js")
        } catch {
            process.stop()
            throw TestFailure("the collector did not start: \(process.output)")
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let value = self else { throw TestFailure(message) }
        return value
    }
}
