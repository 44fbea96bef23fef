import Foundation

/// Every alert links to its own section of docs/runbook.md; a broken link sends the person
/// on call to the top of a long page in the middle of an incident.
enum RunbookCheck {
    struct Alert {
        var name: String
        var runbookURL: String?
        var file: String
        /// The rule's annotations as written (templates unexpanded).
        var annotations: [String: String] = [:]
    }

    static func alerts(_ files: DeploymentFiles) -> [Alert] {
        var alerts: [Alert] = []
        for url in files.prometheusRuleFiles {
            let document = (try? DeploymentFiles.loadYAML(url)) as? [String: Any]
            for case let group as [String: Any] in document?["groups"] as? [Any] ?? [] {
                for case let rule as [String: Any] in group["rules"] as? [Any] ?? [] {
                    guard let name = rule["alert"] as? String else { continue }
                    let annotations = rule["annotations"] as? [String: Any]
                    alerts.append(Alert(name: name, runbookURL: annotations?["runbook_url"] as? String, file: files.relative(url),
                                        annotations: annotations?.compactMapValues { $0 as? String } ?? [:]))
                }
            }
        }
        return alerts
    }

    /// Anchors GitHub generates for headings, plus explicit `<a id=…>`/`<a name=…>` and `{#id}`.
    static func anchors(inMarkdown text: String) -> Set<String> {
        var anchors = Set<String>()
        var counts: [String: Int] = [:]
        var inFence = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") { inFence.toggle(); continue }
            if inFence { continue }
            if trimmed.hasPrefix("#") {
                var heading = trimmed.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                // `## Title {#custom-id}` (kramdown/pandoc style) names its anchor explicitly.
                if let range = heading.range(of: #"\{#[^}]+\}\s*$"#, options: .regularExpression) {
                    let id = heading[range].trimmingCharacters(in: .whitespaces).dropFirst(2).dropLast()
                    anchors.insert(String(id))
                    heading = String(heading[..<range.lowerBound])
                }
                let slug = githubSlug(heading)
                let seen = counts[slug, default: 0]
                counts[slug] = seen + 1
                anchors.insert(seen == 0 ? slug : "\(slug)-\(seen)")
            }
        }
        let explicit = try! NSRegularExpression(pattern: #"<a\s+(?:id|name)\s*=\s*["']([^"']+)["']"#)
        for match in explicit.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text) { anchors.insert(String(text[range])) }
        }
        return anchors
    }

    /// `id` attributes of the rendered page (scripts/build_runbook.py gives headings GitHub's slugs).
    static func anchors(inHTML text: String) -> Set<String> {
        let ids = try! NSRegularExpression(pattern: #"\sid\s*=\s*["']([^"']+)["']"#)
        return Set(ids.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        })
    }

    /// GitHub's heading slug: lowercase, drop punctuation except `-` and `_`, spaces to `-`.
    static func githubSlug(_ heading: String) -> String {
        let plain = heading.replacingOccurrences(of: "`", with: "")
        return String(plain.lowercased().compactMap { character -> Character? in
            if character == " " { return "-" }
            if character.isLetter || character.isNumber || character == "-" || character == "_" { return character }
            return nil
        })
    }

    static func check(_ files: DeploymentFiles, runbook: URL?) -> CheckResult {
        let name = "runbook anchors"
        let alerts = alerts(files)
        guard !alerts.isEmpty else {
            return .fail(name, "no alerting rules found under prometheus/", hint: "add the alert rule files")
        }
        guard let runbook, let text = try? String(contentsOf: runbook, encoding: .utf8) else {
            return .fail(name, "runbook not found\(runbook.map { " at \($0.path)" } ?? "")",
                         hint: "restore runbook/index.html (shipped with deploy/monitoring), or pass --runbook PATH")
        }
        let anchors = runbook.pathExtension == "html" ? anchors(inHTML: text) : anchors(inMarkdown: text)
        var problems: [String] = []
        for alert in alerts {
            guard let url = alert.runbookURL, !url.isEmpty else {
                problems.append("\(alert.name) has no runbook_url")
                continue
            }
            guard let hash = url.firstIndex(of: "#") else {
                problems.append("\(alert.name): runbook_url has no #anchor")
                continue
            }
            let anchor = String(url[url.index(after: hash)...])
            if !anchors.contains(anchor) { problems.append("\(alert.name): #\(anchor) not in \(runbook.lastPathComponent)") }
        }
        guard problems.isEmpty else {
            return .fail(name, problems.joined(separator: "; "),
                         hint: "give each alert a `## AlertName` section in docs/runbook.md, point runbook_url at its anchor, and rebuild runbook/index.html (scripts/build_runbook.py)")
        }
        return .pass(name, "\(alerts.count) alert(s) link to existing sections of \(runbook.lastPathComponent)")
    }
}
