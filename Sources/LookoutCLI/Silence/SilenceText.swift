import Foundation

/// What `lookout silence` prints: times in UTC (what Alertmanager and the emails show) and in
/// the local time zone (what the person at the keyboard thinks in).
public enum SilenceText {
    public static func utc(_ date: Date) -> String { format(date, TimeZone(identifier: "UTC")!) }

    public static func local(_ date: Date, _ zone: TimeZone = .current) -> String { format(date, zone) }

    static func format(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        return formatter.string(from: date)
    }

    /// `1h59m`, `3d2h`, `45s`: how long until `date`.
    public static func span(_ seconds: TimeInterval) -> String {
        var rest = Int(max(0, seconds.rounded()))
        var parts: [String] = []
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        if parts.isEmpty || (rest > 0 && parts.count < 2) { parts.append("\(rest)s") }
        return parts.prefix(2).joined()
    }

    public static func matchers(_ matchers: [SilenceMatcher]) -> String {
        matchers.map(\.text).joined(separator: ", ")
    }

    /// The answer to `lookout silence --for …`: the id, the end in UTC and local time, how to undo it.
    public static func created(id: String, request: SilenceRequest, endsAt: Date, uiURL: String, zone: TimeZone = .current) -> String {
        """
        Silence \(id) created by \(request.createdBy).
          silences: \(matchers(request.matchers))\(request.matchers == [SilenceRequest.everything] ? " (every alert)" : "")
          ends:     \(utc(endsAt)) (\(local(endsAt, zone)) local), in \(span(endsAt.timeIntervalSinceNow))
          comment:  \(request.comment)
        Alerts it matches are not emailed until then; every other alert email says that a silence is active.
        End it early: lookout silence expire \(id)   (or in Alertmanager's UI: \(uiURL))

        """
    }

    /// `lookout silence list`: one block per silence, soonest end first.
    public static func list(_ silences: [Silence], at url: String, now: Date = Date(), zone: TimeZone = .current) -> String {
        guard !silences.isEmpty else { return "No active or pending silences at \(url).\n" }
        var lines = ["\(silences.count) silence\(silences.count == 1 ? "" : "s") at \(url):"]
        for silence in silences {
            let when = silence.isPending
                ? "pending, starts \(utc(silence.startsAt)) (in \(span(silence.startsAt.timeIntervalSince(now)))), ends \(utc(silence.endsAt))"
                : "active, ends \(utc(silence.endsAt)) (\(local(silence.endsAt, zone)) local), in \(span(silence.endsAt.timeIntervalSince(now)))"
            lines.append("")
            lines.append(silence.id)
            lines.append("  \(when)")
            lines.append("  silences: \(matchers(silence.matchers))")
            lines.append("  by \(silence.createdBy): \(silence.comment)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `lookout silence list --json`.
    public static func json(_ silences: [Silence]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(silences), as: UTF8.self) + "\n"
    }

    public static func expired(_ silence: Silence) -> String {
        """
        Silence \(silence.id) expired (it silenced \(matchers(silence.matchers)); by \(silence.createdBy): \(silence.comment)).
        Alerts it matched are emailed again when they fire.

        """
    }
}
