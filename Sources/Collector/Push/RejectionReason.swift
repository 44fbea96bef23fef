import Hummingbird

/// Why a push was refused: the `reason` label of `lookout_collector_events_rejected_total`.
enum RejectionReason: String, CaseIterable, Sendable {
    case method
    case contentType = "content_type"
    case tooLarge = "too_large"
    case schema
    case label
    case timestamp
    case lineTooLong = "line_too_long"
    case tooManyEntries = "too_many_entries"
    case origin

    var status: HTTPResponse.Status {
        switch self {
        case .method: .methodNotAllowed
        case .contentType: .unsupportedMediaType
        case .tooLarge: .contentTooLarge
        case .origin: .forbidden
        case .schema, .label, .timestamp, .lineTooLong, .tooManyEntries: .badRequest
        }
    }
}

/// A refused push: the HTTP answer carries `message` so a developer sees what to fix.
struct PushRejection: Error {
    let reason: RejectionReason
    let message: String

    var httpError: HTTPError {
        var headers: HTTPFields = [:]
        if reason == .method { headers[.allow] = "POST, OPTIONS" }
        return HTTPError(reason.status, headers: headers, message: message)
    }
}
