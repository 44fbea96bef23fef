import Foundation

/// logger.js pushes to LOOKOUT_PUBLIC_PUSH_URL from pages on the application's origin; the
/// collector grants CORS only to LOOKOUT_ALLOWED_ORIGINS. If they disagree, browsers send
/// nothing and no error shows anywhere but in the browser console.
enum OriginCheck {
    static let pushPath = "/loki/api/v1/push"

    static func check(_ files: DeploymentFiles) -> CheckResult {
        let name = "logger endpoint and allowed origins agree"
        let envURL = FileManager.default.fileExists(atPath: files.env.path) ? files.env : files.envExample
        guard let env = try? DotEnv(contentsOf: envURL) else {
            return .fail(name, "neither .env nor .env.example found", hint: "run `lookout init`")
        }
        let endpointKey = DeploymentContract.loggerEndpointKey
        let originsKey = DeploymentContract.allowedOriginsKey
        var problems: [String] = []

        let endpoint = env[endpointKey] ?? ""
        if let url = URLComponents(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil {
            if url.path != pushPath { problems.append("\(endpointKey) path is \(url.path.isEmpty ? "empty" : url.path), not \(pushPath)") }
            if (url.port ?? (scheme == "https" ? 443 : 80)) != 3100 && url.port != nil {
                problems.append("\(endpointKey) uses port \(url.port!), but the edge's push door is 3100")
            }
        } else {
            problems.append("\(endpointKey) is not an http(s) URL")
        }

        let origins = (env[originsKey] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if origins.isEmpty { problems.append("\(originsKey) is empty, so the collector refuses every browser") }
        for origin in origins where origin != "*" {
            guard let url = URLComponents(string: origin), url.scheme != nil, url.host != nil,
                  url.path.isEmpty || url.path == "/", url.query == nil else {
                problems.append("\(originsKey) entry \(origin) is not scheme://host[:port]")
                continue
            }
            if url.path == "/" { problems.append("\(originsKey) entry \(origin) ends with / (browsers send the origin without it)") }
            if let port = url.port, port == (url.scheme == "https" ? 443 : 80) {
                problems.append("\(originsKey) entry \(origin) names the default port (browsers omit it)")
            }
        }
        if origins.contains("*") { problems.append("\(originsKey) is * (any site could fill your logs)") }

        // A page served over https cannot push to an http endpoint (mixed content).
        if endpoint.hasPrefix("http://"), let secure = origins.first(where: { $0.hasPrefix("https://") }) {
            problems.append("\(secure) is https but \(endpointKey) is http: browsers block mixed content")
        }
        // The endpoint's own host must not be the application's: the push door is the monitoring host.
        if let host = URLComponents(string: endpoint)?.host, origins.contains(where: { URLComponents(string: $0)?.host == host }) {
            problems.append("\(endpointKey) points at an allowed origin's host (\(host)); it must be the monitoring host")
        }

        guard problems.isEmpty else {
            return .fail(name, problems.joined(separator: "; "),
                         hint: "set \(originsKey) to the application's origin(s) as browsers send them (e.g. https://application) and \(endpointKey) to https://<monitoring-host>:3100\(pushPath)")
        }
        return .pass(name, "logger.js on \(origins.joined(separator: ", ")) pushes to \(endpoint)")
    }
}
