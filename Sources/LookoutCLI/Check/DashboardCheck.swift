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

    /// The dashboard provider reads a path inside the Grafana container; compose must mount the
    /// dashboards folder there, or Grafana starts with no dashboards and says so only in its log.
    static func providerPathMounted(_ files: DeploymentFiles) -> CheckResult {
        let name = "dashboard folder mounted where Grafana looks"
        var paths: [String] = []
        for url in files.yamlFiles(under: "grafana", withTopLevelKey: "providers") {
            let document = (try? DeploymentFiles.loadYAML(url)) as? [String: Any]
            for case let provider as [String: Any] in document?["providers"] as? [Any] ?? [] {
                if let path = (provider["options"] as? [String: Any])?["path"] as? String { paths.append(path) }
            }
        }
        guard !paths.isEmpty else {
            return .fail(name, "no dashboard provider with options.path under grafana/", hint: "add grafana/provisioning/dashboards/*.yml")
        }
        guard let compose = try? DeploymentFiles.loadYAML(files.compose) as? [String: Any],
              let services = compose["services"] as? [String: Any],
              let (_, grafana) = ComposeFile.service(in: services, named: "grafana", image: "grafana/grafana") else {
            return .fail(name, "no grafana service in docker-compose.yml", hint: "add the grafana service")
        }
        // Short volume syntax `source:target[:mode]`, or the long one with `target:`.
        let targets: [String] = (grafana["volumes"] as? [Any] ?? []).compactMap { volume in
            if let text = volume as? String {
                let parts = text.split(separator: ":").map(String.init)
                return parts.count >= 2 ? parts[1] : nil
            }
            return (volume as? [String: Any])?["target"] as? String
        }
        let unmounted = paths.filter { path in
            !targets.contains { target in path == target || path.hasPrefix(target.hasSuffix("/") ? target : target + "/") }
        }
        guard unmounted.isEmpty else {
            return .fail(name, "provider path \(unmounted.joined(separator: ", ")) is not inside any grafana volume (\(targets.joined(separator: ", ")))",
                         hint: "mount ./grafana/dashboards at the provider's path, or change options.path")
        }
        return .pass(name, paths.joined(separator: ", "))
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
