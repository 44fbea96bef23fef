import Foundation

/// The alert names and sites a deployment folder knows, read the way `lookout check` reads the
/// folder (by content): alert names from every Prometheus rule file, sites from the `site`
/// labels of every file_sd target list under prometheus/. A silence for a name that is in
/// neither would match nothing: usually a typo that leaves the maintenance unsilenced.
public struct DeploymentNames: Sendable, Equatable {
    /// Alerting rule names, plus the alert `lookout test-alert` sends.
    public var alerts: Set<String>
    /// `site` label values of the probe target files; empty when no target file has one.
    public var sites: Set<String>
    /// How many rule files were read (0: the folder is not a deployment, or not this one).
    public var ruleFiles: Int

    public init(alerts: Set<String>, sites: Set<String>, ruleFiles: Int) {
        self.alerts = alerts
        self.sites = sites
        self.ruleFiles = ruleFiles
    }

    public init(folder: URL) {
        let files = DeploymentFiles(root: folder)
        let rules = files.prometheusRuleFiles
        ruleFiles = rules.count
        alerts = Set(RunbookCheck.alerts(files).map(\.name))
        if !alerts.isEmpty { alerts.insert(TestAlert.alertName) }
        sites = Self.sites(in: files)
    }

    /// file_sd files are YAML lists of `{targets: [...], labels: {...}}`.
    static func sites(in files: DeploymentFiles) -> Set<String> {
        var sites = Set<String>()
        for url in files.files(under: "prometheus", extensions: ["yml", "yaml"]) {
            guard let groups = (try? DeploymentFiles.loadYAML(url)) as? [Any] else { continue }
            for case let group as [String: Any] in groups where group["targets"] != nil {
                if let site = (group["labels"] as? [String: Any])?["site"] as? String, !site.isEmpty {
                    sites.insert(site)
                }
            }
        }
        return sites
    }
}
