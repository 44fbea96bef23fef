import Foundation

/// Every alert email says when silences are active (alertmanager/templates/lookout.tmpl.in),
/// from the rule's `active_silences` annotation: Alertmanager gives its templates no silences,
/// so Prometheus counts them (alertmanager_silences, scraped from Alertmanager). An alert
/// without the annotation mails as if nothing were silenced: a forgotten maintenance silence
/// goes unnoticed. A warning, not a failure: the alert itself still works.
enum SilenceNoticeCheck {
    static let name = "alert emails mention active silences"
    static let annotation = "active_silences"

    static func check(_ files: DeploymentFiles) -> CheckResult {
        let alerts = RunbookCheck.alerts(files)
        guard !alerts.isEmpty else { return .skip(name, "no alerting rules found under prometheus/") }
        let missing = alerts.filter { !($0.annotations[annotation]?.contains("alertmanager_silences") ?? false) }
        let names = Array(Set(missing.map(\.name))).sorted()
        guard names.isEmpty else {
            return .warn(name, "\(names.joined(separator: ", ")) without the \(annotation) annotation: their emails do not say when silences are active",
                         hint: "add `\(annotation): *\(annotation)` to their annotations (defined once per rule file, see prometheus/rules/uptime.rules.yml)")
        }
        return .pass(name, "all \(alerts.count) alerting rules carry \(annotation)")
    }
}
