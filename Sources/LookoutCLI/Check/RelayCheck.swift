import Foundation

/// Both Promtails push every line; only the collector's relay keeps Loki from storing (and its
/// metric queries from counting) a late copy twice (docs/logs.md). A Promtail of this folder
/// that pushes straight to Loki bypasses it, and so does an edge push door that sends agents
/// to Loki.
enum RelayCheck {
    static let name = "agent pushes go through the collector's relay"
    static let relayPath = "/agents/loki/api/v1/push"
    static let hint = "push to http://collector:8081/agents/loki/api/v1/push (Promtail) and "
        + "`proxy_pass http://collector/agents/loki/api/v1/push;` (edge): straight to Loki, a line one Promtail "
        + "sends late is counted twice"

    static func check(_ files: DeploymentFiles) -> CheckResult {
        let promtails = files.yamlFiles(under: "promtail", withTopLevelKey: "clients")
        let doors = files.files(under: "edge", extensions: ["conf"]).filter {
            ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains("location = /loki/api/v1/push")
        }
        guard !promtails.isEmpty || !doors.isEmpty else {
            return .skip(name, "no Promtail config under promtail/ and no push door under edge/")
        }
        var problems: [String] = []
        for url in promtails {
            let clients = (try? DeploymentFiles.loadYAML(url) as? [String: Any])?["clients"] as? [Any] ?? []
            for case let client as [String: Any] in clients {
                guard let target = client["url"] as? String, let parsed = URLComponents(string: target), parsed.host != nil else { continue }
                if parsed.host == "loki" || parsed.path != relayPath {
                    problems.append("\(files.relative(url)) pushes to \(target)")
                }
            }
        }
        for url in doors {
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            for line in lines where line.hasPrefix("proxy_pass http://loki") {
                problems.append("\(files.relative(url)) sends agents' pushes to Loki (\(line))")
            }
        }
        if !problems.isEmpty {
            return .fail(name, problems.joined(separator: "; "), hint: hint)
        }
        return .pass(name, "\(promtails.map(files.relative).joined(separator: ", ")) and the edge push to \(relayPath)")
    }
}
