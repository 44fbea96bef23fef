import Foundation
import LokiPush

/// What a browser on the application does: load logger.js, preflight, push.
extension Doctor {
    func loggerScript() async -> CheckResult {
        let name = "/logger.js served"
        let url = options.grafanaURL + "/logger.js"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url)
            let type = response.header("Content-Type") ?? ""
            guard response.status == 200, type.contains("javascript"), !response.body.isEmpty else {
                return .fail(name, "GET /logger.js answered \(response.status) (\(type.isEmpty ? "no content type" : type))",
                             hint: "the edge routes /logger.js on :3000 to the collector: \(options.runtime.logs("edge", "collector"))")
            }
            return .pass(name, "\(response.body.count) bytes, \(type)")
        }
    }

    func corsPreflight() async -> CheckResult {
        let name = "CORS preflight for the application's origin"
        guard let origin = options.origin else {
            return .skip(name, "no origin known: pass --origin or --env-file")
        }
        let url = options.pushURL + "/loki/api/v1/push"
        return await guarded(name, url) {
            let response = try await web.send(.OPTIONS, url, headers: [
                ("Origin", origin), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type"),
            ])
            let allowed = response.header("Access-Control-Allow-Origin")
            guard (200..<300).contains(response.status), allowed == origin || allowed == "*" else {
                return .fail(name, "OPTIONS answered \(response.status), Access-Control-Allow-Origin: \(allowed ?? "none")",
                             hint: "add \(origin) to the collector's allowed origins in .env and restart the collector")
            }
            return .pass(name, "\(response.status), allows \(allowed ?? "")")
        }
    }

    func testPush() async -> CheckResult {
        let name = "browser-like test push accepted"
        guard let origin = options.origin else {
            return .skip(name, "no origin known: pass --origin or --env-file")
        }
        let url = options.pushURL + "/loki/api/v1/push"
        return await guarded(name, url) {
            let nanoseconds = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
            let line = #"{"kind":"doctor","message":"lookout doctor test push","page":"/lookout-doctor"}"#
            let push = LokiPushRequest(streams: [
                LokiStream(stream: ["app": "frontend", "kind": "doctor"], values: [LokiEntry(nanoseconds: nanoseconds, line: line)]),
            ])
            let body = try JSONEncoder().encode(push)
            let response = try await web.send(.POST, url, headers: [("Origin", origin), ("Content-Type", "application/json")], body: body)
            guard (200..<300).contains(response.status) else {
                return .fail(name, "POST answered \(response.status) \(response.gist)",
                             hint: "requests with an Origin header go to the collector: \(options.runtime.logs("collector", "edge"))")
            }
            return .pass(name, "\(response.status) (line kind=doctor, shows in the Logs dashboard)")
        }
    }
}
