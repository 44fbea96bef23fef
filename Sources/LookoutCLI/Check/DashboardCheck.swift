import Foundation

/// Every dashboard must point at datasources that provisioning creates, by uid, or its panels
/// show "datasource not found" on a fresh Grafana.
enum DashboardCheck {
    /// Built-in pseudo-datasources that need no provisioning.
    static let builtIn: Set<String> = ["-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana", "__expr__"]
    /// The dashboards the docs and `doctor` promise, by uid.
    public static let expectedDashboardUIDs = [
        "lookout-uptime", "lookout-performance", "lookout-logs", "lookout-frontend", "lookout-resources",
    ]

    static func provisionedUIDs(_ files: DeploymentFiles) -> Set<String> {
        var uids = Set<String>()
        for url in files.grafanaDatasourceFiles {
            let document = (try? DeploymentFiles.loadYAML(url)) as? [String: Any]
            for case let datasource as [String: Any] in document?["datasources"] as? [Any] ?? [] {
                if let uid = datasource["uid"] as? String { uids.insert(uid) }
            }
        }
        return uids
    }

    /// Datasource uids referenced anywhere in a dashboard (panels, targets, template variables, annotations).
    static func referencedUIDs(in json: Any) -> Set<String> {
        var found = Set<String>()
        func walk(_ node: Any) {
            if let object = node as? [String: Any] {
                for (key, value) in object {
                    if key == "datasource", let ref = value as? [String: Any], let uid = ref["uid"] as? String {
                        found.insert(uid)
                    }
                    walk(value)
                }
            } else if let array = node as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        // `${ds}`-style references are template variables, resolved at view time.
        return found.filter { !builtIn.contains($0) && !$0.hasPrefix("$") }
    }

    static func datasources(_ files: DeploymentFiles) -> CheckResult {
        let name = "dashboard datasources provisioned"
        let provisioned = provisionedUIDs(files)
        let dashboards = files.dashboards
        guard !dashboards.isEmpty else {
            return .fail(name, "no dashboard JSON under grafana/", hint: "add the provisioned dashboards")
        }
        guard !provisioned.isEmpty else {
            return .fail(name, "no datasource with a uid in grafana provisioning", hint: "give each provisioned datasource a fixed `uid:`")
        }
        var problems: [String] = []
        for url in dashboards {
            guard let json = try? DeploymentFiles.loadJSON(url) else {
                problems.append("\(files.relative(url)) is not valid JSON")
                continue
            }
            let missing = referencedUIDs(in: json).subtracting(provisioned)
            if !missing.isEmpty {
                problems.append("\(files.relative(url)) uses unknown uid \(missing.sorted().joined(separator: ", "))")
            }
        }
        guard problems.isEmpty else {
            return .fail(name, problems.joined(separator: "; "),
                         hint: "use one of the provisioned uids (\(provisioned.sorted().joined(separator: ", "))) in every panel's datasource")
        }
        return .pass(name, "\(dashboards.count) dashboards use only \(provisioned.sorted().joined(separator: ", "))")
    }

    static func expectedDashboards(_ files: DeploymentFiles) -> CheckResult {
        let name = "five dashboards with stable uids"
        var uids: [String: String] = [:]
        for url in files.dashboards {
            if let object = try? DeploymentFiles.loadJSON(url) as? [String: Any], let uid = object["uid"] as? String {
                uids[uid] = files.relative(url)
            }
        }
        let missing = expectedDashboardUIDs.filter { uids[$0] == nil }
        guard missing.isEmpty else {
            return .fail(name, "missing dashboard uid \(missing.joined(separator: ", "))",
                         hint: "set `\"uid\"` in each dashboard JSON to the documented uid")
        }
        return .pass(name, expectedDashboardUIDs.joined(separator: ", "))
    }
}
