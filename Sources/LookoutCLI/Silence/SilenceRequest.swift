import Foundation

/// One Alertmanager matcher (API v2 shape).
public struct SilenceMatcher: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    public var isRegex: Bool
    /// false for `!=` / `!~` (Alertmanager ≥ 0.22; absent in older answers means true).
    public var isEqual: Bool

    public init(name: String, value: String, isRegex: Bool = false, isEqual: Bool = true) {
        self.name = name
        self.value = value
        self.isRegex = isRegex
        self.isEqual = isEqual
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        value = try container.decode(String.self, forKey: .value)
        isRegex = try container.decodeIfPresent(Bool.self, forKey: .isRegex) ?? false
        isEqual = try container.decodeIfPresent(Bool.self, forKey: .isEqual) ?? true
    }

    /// `site="application"`, `alertname=~"A|B"`: the notation of Alertmanager's UI and amtool.
    public var text: String {
        let op = isRegex ? (isEqual ? "=~" : "!~") : (isEqual ? "=" : "!=")
        return "\(name)\(op)\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
    }
}

/// What `lookout silence` asks for, checked before anything is sent: a bad duration, an alert
/// or site the deployment does not know, a missing comment or a silence of everything without
/// `--all` is refused with a sentence, and no silence is created.
public struct SilenceRequest: Sendable, Equatable {
    public var matchers: [SilenceMatcher]
    public var duration: TimeInterval
    public var comment: String
    public var createdBy: String

    /// Shorter silences end before an evaluation or two has passed; longer ones are forgotten
    /// and hide real outages (renew one when a maintenance really lasts longer).
    public static let minimumDuration: TimeInterval = 60
    public static let maximumDuration: TimeInterval = 7 * 86400
    /// `--all`: matches every alert (Alertmanager refuses a silence whose matchers all match
    /// the empty string, so "everything" is spelled as a non-empty alertname).
    public static let everything = SilenceMatcher(name: "alertname", value: ".+", isRegex: true)

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// - Parameters:
    ///   - names: what the deployment knows; nil when no deployment folder could be read.
    ///   - deploymentFolder: named in the messages, so the operator knows which folder was read.
    public static func make(
        duration text: String, sites: [String], alerts: [String], all: Bool, comment: String?,
        author: String?, names: DeploymentNames?, deploymentFolder: String
    ) throws -> SilenceRequest {
        let duration = try parseDuration(text)
        let comment = (comment ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !comment.isEmpty else {
            throw Invalid(description: "--comment is required: say why and who to ask (e.g. --comment \"deploy v1.4, ask alice\"); it is shown in `lookout silence list` and in Alertmanager's UI.")
        }
        if all && !(sites.isEmpty && alerts.isEmpty) {
            throw Invalid(description: "--all silences every alert; it cannot be combined with --site or --alert.")
        }
        if !all && sites.isEmpty && alerts.isEmpty {
            throw Invalid(description: "say what to silence: --site S and/or --alert NAME. A silence of every alert needs --all (then no alert at all is emailed until it ends).")
        }
        for (flag, values) in [("--site", sites), ("--alert", alerts)] where values.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw Invalid(description: "\(flag) must not be empty.")
        }
        if !alerts.isEmpty {
            guard let names, !names.alerts.isEmpty else {
                throw Invalid(description: "cannot check --alert against the deployment's rules: no alerting rules found under '\(deploymentFolder)/prometheus'. Pass --dir with the deployment folder (the one `lookout check` reads).")
            }
            for alert in alerts where !names.alerts.contains(alert) {
                throw Invalid(description: "unknown alert name '\(alert)'\(suggestion(alert, in: names.alerts)): the rules in '\(deploymentFolder)' define \(names.alerts.sorted().joined(separator: ", ")).")
            }
        }
        if let names, !names.sites.isEmpty {
            for site in sites where !names.sites.contains(site) {
                throw Invalid(description: "unknown site '\(site)'\(suggestion(site, in: names.sites)): the probe targets in '\(deploymentFolder)/prometheus' name \(names.sites.sorted().joined(separator: ", ")).")
            }
        }
        var matchers: [SilenceMatcher] = []
        if let site = matcher("site", unique(sites)) { matchers.append(site) }
        if let alert = matcher("alertname", unique(alerts)) { matchers.append(alert) }
        if all { matchers = [everything] }
        let author = (author ?? "").trimmingCharacters(in: .whitespaces)
        return SilenceRequest(matchers: matchers, duration: duration, comment: comment,
                              createdBy: author.isEmpty ? defaultAuthor() : author)
    }

    /// Go/Alertmanager-style durations (`2h`, `90m`, `1h30m`, `1d`), between the limits.
    public static func parseDuration(_ text: String) throws -> TimeInterval {
        guard let seconds = PromDuration.seconds(text) else {
            throw Invalid(description: "--for must be a duration such as 2h, 90m or 1h30m (units d, h, m, s), got '\(text)'.")
        }
        guard seconds >= minimumDuration else {
            throw Invalid(description: "--for must be at least 1m, got '\(text)'.")
        }
        guard seconds <= maximumDuration else {
            throw Invalid(description: "--for must be at most 7d (168h), got '\(text)': a forgotten silence hides real outages; create a new one when this one ends.")
        }
        return seconds
    }

    /// One value: an equality matcher; several: one anchored regex (Alertmanager anchors it), `a|b`.
    static func matcher(_ name: String, _ values: [String]) -> SilenceMatcher? {
        guard let first = values.first else { return nil }
        if values.count == 1 { return SilenceMatcher(name: name, value: first) }
        return SilenceMatcher(name: name, value: values.map(regexEscaped).joined(separator: "|"), isRegex: true)
    }

    /// RE2 takes any escaped ASCII punctuation literally.
    static func regexEscaped(_ value: String) -> String {
        value.map { character in
            character.isASCII && !(character.isLetter || character.isNumber || character == "_") ? "\\\(character)" : String(character)
        }.joined()
    }

    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    /// ` (did you mean LookoutSiteDown?)` for a wrong case or a prefix.
    static func suggestion(_ value: String, in known: Set<String>) -> String {
        let lower = value.lowercased()
        let close = known.sorted().first { $0.lowercased() == lower }
            ?? known.sorted().first { $0.lowercased().hasPrefix(lower) || lower.hasPrefix($0.lowercased()) }
        return close.map { " (did you mean \($0)?)" } ?? ""
    }

    /// The person behind `sudo`, else the OS user.
    static func defaultAuthor() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let sudo = environment["SUDO_USER"], !sudo.isEmpty { return sudo }
        let user = NSUserName()
        return user.isEmpty ? (environment["USER"] ?? "lookout") : user
    }
}
