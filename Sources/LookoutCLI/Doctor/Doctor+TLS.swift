import Foundation
import X509

/// TLS at the edge, as a browser or an agent meets it: each door's certificate verified (chain
/// and host name) with the days left until it expires, plain HTTP never served on a TLS door,
/// HSTS on the Grafana door. An edge reached over http:// gets a warning, not a failure: plain
/// HTTP is a choice the operator made in .env (EDGE_SCHEME=http).
extension Doctor {
    /// Certificates closer to their end than this are reported as a warning.
    static let certificateWarningDays = 14

    struct Door {
        var port: String
        var url: URLComponents
        var host: String { url.host ?? "" }
        var portNumber: Int { url.port ?? (url.scheme == "https" ? 443 : 80) }
    }

    var doors: [Door] {
        [("3000", options.grafanaURL), ("3100", options.pushURL), ("9090", options.prometheusURL), ("9093", options.alertmanagerURL)]
            .compactMap { port, url in URLComponents(string: url).map { Door(port: port, url: $0) } }
    }

    func tlsChecks() async -> [CheckResult] {
        let plain = doors.filter { $0.url.scheme == "http" }
        let secure = doors.filter { $0.url.scheme == "https" }
        var results: [CheckResult] = []
        if let door = plain.first, let speaksTLS = await speaksTLS(door) {
            // An http:// URL for an edge that speaks TLS: nothing else can succeed.
            return [.fail("TLS at the edge", speaksTLS, hint: "run doctor with --url https://\(door.host)")]
        }
        if !plain.isEmpty {
            results.append(.warn("TLS at the edge", "\(plain.map { ":\($0.port)" }.joined(separator: ", ")) reached over plain http://: passwords cross the network readable",
                                 hint: "fine for a private lab (EDGE_SCHEME=http); otherwise enable TLS at the edge (lookout init --tls, docs/operations.md) and use --url https://…"))
        }
        guard !secure.isEmpty else { return results }
        results.append(await certificate(secure))
        results.append(await plainHTTPRefused(secure))
        if let grafana = secure.first(where: { $0.port == "3000" }) { results.append(await hsts(grafana)) }
        return results
    }

    /// What a plain-HTTP request to a TLS door of the edge gets (nginx's 400 for HTTP on an
    /// HTTPS port, or the redirect on :3000), described; nil when the door really is plain HTTP.
    func speaksTLS(_ door: Door) async -> String? {
        guard let response = try? await web.send(.GET, door.url.string ?? "") else { return nil }
        let location = response.header("Location") ?? ""
        if response.status == 400 && response.text.contains("HTTPS port") {
            return ":\(door.port) speaks TLS (it answered 400 \"The plain HTTP request was sent to HTTPS port\"), but the URL is http://"
        }
        if (301...308).contains(response.status) && location.hasPrefix("https://") {
            return ":\(door.port) redirects to \(location): the edge speaks TLS, but the URL is http://"
        }
        return nil
    }

    func certificate(_ doors: [Door]) async -> CheckResult {
        let name = "edge TLS certificate"
        var served: [(Door, Certificate)] = []
        for door in doors {
            switch await EdgeCertificateProbe.probe(host: door.host, port: door.portNumber, caFile: options.caFile, timeoutSeconds: options.timeoutSeconds) {
            case .verified(let certificate):
                served.append((door, certificate))
            case .refused(let reason, let certificate):
                let hint: String
                if certificate.map({ $0.notValidAfter < Date() }) == true {
                    hint = "renew it: `lookout init --tls` for the private CA, or your ACME client; the edge reloads the new files by itself"
                } else if certificate.map({ !CertificateFacts.covers($0, host: door.host) }) == true {
                    hint = "use the host name the certificate was issued for in --url, or issue it for \(door.host) (lookout init --tls --tls-name \(door.host))"
                } else if certificate != nil {
                    hint = options.caFile == nil
                        ? "a private CA? pass --ca-file secrets/ca/lookout-ca.crt (or --env-file with the deployment's .env beside it)"
                        : "the edge's certificate is not from \(options.caFile!): check EDGE_TLS_DIR on the monitoring host"
                } else {
                    hint = "is the edge up, and does it speak TLS on this port (EDGE_SCHEME=https)?"
                }
                return .fail(name, ":\(door.port) refused: \(reason)", hint: hint)
            }
        }
        let soonest = served.min { $0.1.notValidAfter < $1.1.notValidAfter }!.1
        let days = CertificateFacts.daysLeft(soonest)
        let detail = "verified on \(served.map { ":\($0.0.port)" }.joined(separator: ", ")) for \(doors[0].host) (issued by \(soonest.issuer)); expires in \(days) days (\(CertificateFacts.day(soonest.notValidAfter)))"
        if days < Self.certificateWarningDays {
            return .warn(name, detail, hint: "renew it now: `lookout init --tls` for the private CA, or your ACME client (the edge reloads it by itself)")
        }
        return .pass(name, detail)
    }

    /// The same doors in plain HTTP, without any credentials (a password must never be sent in
    /// clear): nginx must answer its 400 for a TLS port, or redirect to https on :3000.
    func plainHTTPRefused(_ doors: [Door]) async -> CheckResult {
        let name = "plain HTTP refused on the TLS doors"
        var seen: [String] = []
        for door in doors {
            var url = door.url
            url.scheme = "http"
            url.path = door.port == "3100" ? "/loki/api/v1/push" : "/"
            let target = url.string ?? ""
            do {
                let response = try await web.send(door.port == "3100" ? .POST : .GET, target)
                let location = response.header("Location") ?? ""
                if response.status == 400 || ((301...308).contains(response.status) && location.hasPrefix("https://")) {
                    seen.append(":\(door.port) \(response.status)")
                    continue
                }
                return .fail(name, "http:// on :\(door.port) answered \(response.status)\(location.isEmpty ? "" : " → \(location)"): content is served without TLS",
                             hint: "the door must listen with `ssl` (edge/nginx.conf); is something else in front of the edge?")
            } catch {
                // Nothing answering plain HTTP at all is as good as refusing it.
                seen.append(":\(door.port) \(describe(error))")
            }
        }
        return .pass(name, seen.joined(separator: ", "))
    }

    func hsts(_ door: Door) async -> CheckResult {
        let name = "HSTS on the Grafana door"
        let url = options.grafanaURL + "/logger.js"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url)
            guard let header = response.header("Strict-Transport-Security"),
                  let maxAge = header.split(separator: ";").compactMap({ part -> Int? in
                      let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
                      return pair.count == 2 && pair[0].lowercased() == "max-age" ? Int(pair[1]) : nil
                  }).first, maxAge >= 31_536_000 else {
                return .fail(name, "GET :3000/logger.js has no Strict-Transport-Security of a year or more",
                             hint: "the edge's :3000 server sets it (edge/nginx.conf): is another proxy in front of it?")
            }
            return .pass(name, "Strict-Transport-Security: \(header)")
        }
    }
}
