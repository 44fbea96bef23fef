import Foundation
import NIOHTTP1

/// A silence as Alertmanager's API v2 returns it (`GET /api/v2/silences`).
public struct Silence: Sendable, Equatable, Codable {
    public struct Status: Sendable, Equatable, Codable {
        /// active, pending or expired.
        public var state: String
    }

    public var id: String
    public var status: Status
    public var matchers: [SilenceMatcher]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String

    public var isActive: Bool { status.state == "active" }
    public var isPending: Bool { status.state == "pending" }
}

/// Creates, lists and expires silences through Alertmanager's API v2 behind the edge, with the
/// same client, TLS trust and login as `doctor` and `test-alert`.
public struct AlertmanagerSilences: Sendable {
    public var alertmanagerURL: String
    public var auth: BasicAuth?
    let web: WebClient

    /// Not a usage error: Alertmanager was unreachable, refused the login or the request.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(alertmanagerURL: String, auth: BasicAuth?, caFile: String? = nil, timeoutSeconds: Int64 = 10) {
        self.alertmanagerURL = DoctorOptions.trim(alertmanagerURL)
        self.auth = auth
        web = WebClient(timeoutSeconds: timeoutSeconds, caFile: caFile)
    }

    /// The Alertmanager UI's page of one silence (the edge serves the UI on the same door).
    public func uiURL(id: String) -> String { "\(alertmanagerURL)/#/silences/\(id)" }

    /// POST /api/v2/silences; returns the new silence's id.
    public func create(_ request: SilenceRequest, now: Date = Date()) async throws -> (id: String, endsAt: Date) {
        let endsAt = now.addingTimeInterval(request.duration)
        let body: [String: Any] = [
            "matchers": request.matchers.map { ["name": $0.name, "value": $0.value, "isRegex": $0.isRegex, "isEqual": $0.isEqual] },
            "startsAt": Self.timestamp(now),
            "endsAt": Self.timestamp(endsAt),
            "createdBy": request.createdBy,
            "comment": request.comment,
        ]
        let response = try await send(.POST, "/api/v2/silences", body: try JSONSerialization.data(withJSONObject: body))
        guard response.status == 200, let id = (response.json() as? [String: Any])?["silenceID"] as? String else {
            throw refused("POST /api/v2/silences", response)
        }
        return (id, endsAt)
    }

    /// Every silence Alertmanager keeps (expired ones stay listed for a while).
    public func all() async throws -> [Silence] {
        let response = try await send(.GET, "/api/v2/silences")
        guard response.status == 200 else { throw refused("GET /api/v2/silences", response) }
        do {
            return try Self.decoder.decode([Silence].self, from: response.body)
        } catch {
            throw Failure(description: "Alertmanager's answer to GET /api/v2/silences is not a list of silences: \(response.gist)")
        }
    }

    /// Active and pending silences, the ones that end soonest first.
    public func current() async throws -> [Silence] {
        try await all().filter { $0.isActive || $0.isPending }.sorted { ($0.endsAt, $0.id) < ($1.endsAt, $1.id) }
    }

    /// GET /api/v2/silence/{id}: nil when Alertmanager has no silence with that id.
    public func silence(id: String) async throws -> Silence? {
        let response = try await send(.GET, "/api/v2/silence/\(id)")
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw refused("GET /api/v2/silence/\(id)", response) }
        guard let silence = try? Self.decoder.decode(Silence.self, from: response.body) else {
            throw Failure(description: "Alertmanager's answer to GET /api/v2/silence/\(id) is not a silence: \(response.gist)")
        }
        return silence
    }

    /// Expires an active or pending silence (DELETE /api/v2/silence/{id}); returns it as it was.
    /// An unknown or already expired id is a Failure that says so, and nothing changes.
    public func expire(id: String) async throws -> Silence {
        guard UUID(uuidString: id) != nil else {
            throw Failure(description: "'\(id)' is not a silence id: ids look like 2c5a1f1e-7d1b-4e0a-9c43-2f3c8a2b9d10 (`lookout silence list` shows them).")
        }
        guard let silence = try await silence(id: id) else {
            throw Failure(description: "no silence with id \(id) in Alertmanager at \(alertmanagerURL) (`lookout silence list` shows the active and pending ones).")
        }
        guard silence.isActive || silence.isPending else {
            throw Failure(description: "silence \(id) has already ended (\(SilenceText.utc(silence.endsAt))); nothing to expire.")
        }
        let response = try await send(.DELETE, "/api/v2/silence/\(id)")
        guard response.status == 200 else { throw refused("DELETE /api/v2/silence/\(id)", response) }
        return silence
    }

    // MARK: - HTTP

    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> WebResponse {
        let url = alertmanagerURL + path
        do {
            return try await web.send(method, url, headers: body == nil ? [] : [("Content-Type", "application/json")], auth: auth, body: body)
        } catch {
            throw Failure(description: "no answer from Alertmanager at \(alertmanagerURL): \(describe(error)). Is the stack up and port 9093 of the edge reachable from here?")
        }
    }

    func refused(_ what: String, _ response: WebResponse) -> Failure {
        switch response.status {
        case 401:
            return Failure(description: "Alertmanager's door refused the login (401): set ALERTMANAGER_USER/ALERTMANAGER_PASSWORD in the environment or in --env-file, or pass --user/--password.")
        case 404 where what.contains("/api/v2/silences"):
            return Failure(description: "\(what) answered 404: \(alertmanagerURL) is not Alertmanager's door (it is port 9093 of the edge).")
        default:
            return Failure(description: "\(what) answered \(response.status): \(response.gist)")
        }
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Alertmanager writes RFC 3339 with or without fractional seconds.
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
        }
        return decoder
    }
}
