/// Where the stack runs, so that doctor's hints name commands that exist there: Docker Compose
/// on a monitoring host, or the lab (lab/, no Docker), which writes `LOOKOUT_RUNTIME=lab` and
/// the services it could not start into its own .env.
public struct Runtime: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case compose
        /// The lab's run folder (its logs are in logs/<service>.log there).
        case lab(runDirectory: String)
    }

    public var kind: Kind
    /// Services that do not run here, and why: their checks are skipped, not failed.
    public var notRunning: [String: String]

    public static let compose = Runtime(kind: .compose, notRunning: [:])

    public init(kind: Kind, notRunning: [String: String] = [:]) {
        self.kind = kind
        self.notRunning = notRunning
    }

    public static let kindKey = "LOOKOUT_RUNTIME"
    public static let labRunKey = "LOOKOUT_LAB_RUN"
    /// `service=why;service=why`
    public static let notRunningKey = "LOOKOUT_NOT_RUNNING"

    /// From a deployment's .env (and the environment): compose unless the lab said otherwise.
    public static func from(_ env: [String: String]) -> Runtime {
        var notRunning: [String: String] = [:]
        for item in (env[notRunningKey] ?? "").split(separator: ";") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if let service = parts.first, !service.isEmpty { notRunning[service] = parts.count > 1 ? parts[1] : "not started" }
        }
        guard env[kindKey] == "lab" else { return Runtime(kind: .compose, notRunning: notRunning) }
        return Runtime(kind: .lab(runDirectory: env[labRunKey] ?? "lab/run/lookout-lab"), notRunning: notRunning)
    }

    /// "`docker compose logs loki`", or the lab's log file of that service.
    public func logs(_ services: String...) -> String {
        switch kind {
        case .compose: return "`docker compose logs \(services.joined(separator: " "))`"
        case .lab(let run): return services.map { "\(run)/logs/\($0).log" }.joined(separator: ", ")
        }
    }

    /// What is running: "`docker compose ps`" or "`lab/status`".
    public var status: String {
        switch kind {
        case .compose: return "`docker compose ps`"
        case .lab: return "`lab/status`"
        }
    }

    public func restart(_ service: String) -> String {
        switch kind {
        case .compose: return "`docker compose restart \(service)`"
        case .lab: return "`lab/stop \(service) && lab/start \(service)`"
        }
    }

    public var isLab: Bool { if case .lab = kind { return true } else { return false } }

    /// The skip line for a check that needs `service`, or nil when it runs.
    func skipIfAbsent(_ name: String, needs service: String, because: String? = nil) -> CheckResult? {
        notRunning[service].map {
            .skip(name, "\(because.map { "\($0), and " } ?? "")\(service) does not run here (\($0)); \(status) shows what does")
        }
    }
}
