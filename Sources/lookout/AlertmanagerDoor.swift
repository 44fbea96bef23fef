import ArgumentParser
import Foundation
import LookoutCLI

/// Where Alertmanager's door of the edge is and how to log in: shared by `test-alert` and
/// `silence`, so both find it the same way (options, then ALERTMANAGER_EXTERNAL_URL from the
/// environment or the deployment's .env).
struct AlertmanagerDoor: ParsableArguments {
    @Option(help: ArgumentHelp("The monitoring host; Alertmanager is its port 9093 (default: ALERTMANAGER_EXTERNAL_URL from the environment or --env-file).", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Alertmanager's URL, if not URL with port 9093.", valueName: "url"))
    var alertmanagerURL: String?

    @OptionGroup var login: LoginOptions

    static let externalURLKey = "ALERTMANAGER_EXTERNAL_URL"

    func validate() throws {
        guard url != nil || alertmanagerURL != nil || externalURL != nil else {
            throw ValidationError("pass --url http://monitoring-host (or --alertmanager-url, or set \(Self.externalURLKey) in --env-file).")
        }
        for (flag, value) in [("--url", url), ("--alertmanager-url", alertmanagerURL)] {
            guard let value else { continue }
            guard let parsed = URL(string: value), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("\(flag) must be an http(s) URL, got '\(value)'.")
            }
        }
    }

    /// ALERTMANAGER_EXTERNAL_URL (what compose gives Alertmanager's --web.external-url): the environment first, then .env.
    var externalURL: String? {
        let value = ProcessInfo.processInfo.environment[Self.externalURLKey].flatMap { $0.isEmpty ? nil : $0 }
            ?? login.dotEnv[Self.externalURLKey].flatMap { $0.isEmpty ? nil : $0 }
        guard let value, let parsed = URL(string: value), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else { return nil }
        return value
    }

    /// --alertmanager-url, else --url with port 9093, else ALERTMANAGER_EXTERNAL_URL.
    var target: String {
        if let alertmanagerURL { return alertmanagerURL }
        if let url { return DoctorOptions.withPort(url, 9093) }
        return externalURL ?? ""
    }
}
