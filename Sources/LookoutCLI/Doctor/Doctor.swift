import Foundation
import LokiPush
import Yams

/// `lookout doctor`: checks a running stack end to end, through the edge, as an operator would.
public struct Doctor: Sendable {
    public var options: DoctorOptions
    let web: WebClient

    public init(options: DoctorOptions) {
        self.options = options
        web = WebClient(timeoutSeconds: options.timeoutSeconds, caFile: options.caFile)
    }

    public func run() async -> CheckReport {
        var report = CheckReport()
        let tls = await tlsChecks()
        report.append(contentsOf: tls)
        if let refused = tls.first(where: { ["edge TLS certificate", "TLS at the edge"].contains($0.name) && $0.status == .fail }) {
            // Every other check would fail on the same handshake (each after AsyncHTTPClient's
            // connect retries): one clear line instead of twenty.
            report.append(.skip("the other checks", "not run: no HTTPS connection to the edge can be trusted (\(refused.detail))"))
            return report
        }
        report.append(await grafanaHealth())
        report.append(await ready("Prometheus ready", options.prometheusURL + "/-/ready", auth: options.prometheusAuth, port: "9090"))
        report.append(await ready("Alertmanager ready", options.alertmanagerURL + "/-/ready", auth: options.alertmanagerAuth, port: "9093"))
        report.append(await lokiReady())
        report.append(await targetsUp())
        report.append(await applicationProbe())
        report.append(contentsOf: await logsArrived())
        report.append(await loggerScript())
        report.append(await corsPreflight())
        if options.sendTestPush { report.append(await testPush()) }
        report.append(await recordingRules())
        report.append(await alertmanagerSMTP())
        report.append(contentsOf: await dashboards())
        report.append(contentsOf: await closedDoors())
        return report
    }

    // MARK: - HTTP helpers

    /// Runs `body`, turning a transport error into a failed check that says which door did not answer.
    func guarded(_ name: String, _ url: String, _ body: () async throws -> CheckResult) async -> CheckResult {
        do {
            return try await body()
        } catch {
            return .fail(name, "no answer from \(url): \(describe(error))",
                         hint: "is the stack up (\(options.runtime.status)) and is the edge's port reachable from here (firewall)?")
        }
    }

    /// The common answer to 401: which credentials are wrong.
    func unauthorized(_ name: String, _ what: String) -> CheckResult {
        .fail(name, "401 Unauthorized", hint: "wrong or missing \(what) credentials: pass them with the options shown in `lookout doctor --help`, or use --env-file with the deployment's .env")
    }

    /// Prometheus' `/api/v1/query` instant vector, as (labels, value) pairs.
    func promQuery(_ query: String) async throws -> (status: Int, vector: [([String: String], Double)]) {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? query
        let response = try await web.send(.GET, "\(options.prometheusURL)/api/v1/query?query=\(encoded)", auth: options.prometheusAuth)
        return (response.status, Self.vector(from: response))
    }

    /// Parses `{"data":{"result":[{"metric":{…},"value":[ts,"v"]}]}}` (Prometheus and Loki share it).
    static func vector(from response: WebResponse) -> [([String: String], Double)] {
        guard let object = response.json() as? [String: Any],
              let data = object["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { return [] }
        return result.compactMap { sample in
            let labels = (sample["metric"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
            guard let pair = sample["value"] as? [Any], pair.count == 2, let text = pair[1] as? String,
                  let value = Double(text) else { return nil }
            return (labels, value)
        }
    }
}

extension CharacterSet {
    /// Query-value characters: RFC 3986 query minus the separators `&`, `=`, `+`, `#`.
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.urlQueryAllowed
        set.remove(charactersIn: "&=+#")
        return set
    }()
}
