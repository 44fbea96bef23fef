import Foundation

/// `lookout check`: validates a deployment folder without starting anything.
public struct DeploymentChecker: Sendable {
    public var files: DeploymentFiles
    /// docs/runbook.md; nil means "look for docs/runbook.md above the folder".
    public var runbook: URL?
    /// Which external tools to use; nil entries are reported as skipped.
    var tools: ToolChecks.Tools
    public var runTools: Bool

    public init(directory: URL, runbook: URL? = nil, runTools: Bool = true) {
        files = DeploymentFiles(root: directory)
        self.runbook = runbook ?? Self.findRunbook(above: files.root)
        tools = ToolChecks.Tools.onPath()
        self.runTools = runTools
    }

    /// The copy the deployment ships and the edge serves (runbook/index.html), else
    /// deploy/monitoring → ../../docs/runbook.md, or any parent's docs/runbook.md.
    static func findRunbook(above directory: URL) -> URL? {
        let shipped = directory.appendingPathComponent("runbook/index.html")
        if FileManager.default.fileExists(atPath: shipped.path) { return shipped }
        var current = directory
        for _ in 0..<4 {
            let candidate = current.appendingPathComponent("docs/runbook.md")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            current.deleteLastPathComponent()
        }
        return nil
    }

    public func run() -> CheckReport {
        var report = CheckReport()
        let envFile = FileManager.default.fileExists(atPath: files.env.path) ? files.env : files.envExample
        let env = (try? DotEnv(contentsOf: envFile).values) ?? [:]
        if runTools {
            report.append(contentsOf: ToolChecks.all(files, tools: tools, composeEnvFile: FileManager.default.fileExists(atPath: envFile.path) ? envFile : nil, env: env))
        }
        report.append(RetentionCheck.prometheus(files, env: env))
        report.append(RetentionCheck.loki(files))
        report.append(LokiStartupCheck.ruleStorage(files))
        report.append(LokiStartupCheck.writesOnVolume(files))
        report.append(RelayCheck.check(files))
        report.append(ImageContentsCheck.check(files, env: env))
        report.append(DashboardCheck.datasources(files))
        report.append(DashboardCheck.expectedDashboards(files))
        report.append(DashboardCheck.providerPathMounted(files))
        report.append(contentsOf: SecretsCheck.all(files))
        report.append(RunbookCheck.check(files, runbook: runbook))
        report.append(SilenceNoticeCheck.check(files))
        report.append(OriginCheck.check(files))
        report.append(HeartbeatCheck.check(env: env))
        report.append(contentsOf: TLSCheck.all(files, env: env))
        return Self.redacting(secrets: env.filter { SecretPolicy.isSecretKey($0.key) }.map(\.value), in: report)
    }

    /// The external tools' messages are quoted in the report; should one of them echo a value
    /// from .env (a compose interpolation error, say), the secret is cut out before printing.
    static func redacting(secrets: [String], in report: CheckReport) -> CheckReport {
        let values = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
        guard !values.isEmpty else { return report }
        func clean(_ text: String) -> String {
            values.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
        }
        var copy = report
        copy.results = report.results.map { result in
            var result = result
            result.detail = clean(result.detail)
            result.hint = result.hint.map(clean)
            return result
        }
        return copy
    }
}
