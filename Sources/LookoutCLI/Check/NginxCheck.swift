import Foundation

/// `nginx -t` on the edge config. The config names its upstreams the way compose does
/// (`server grafana:3000`), and nginx resolves them at load time, which fails outside the
/// compose network. So the test runs on a temporary copy of the edge folder in which each
/// upstream host is 127.0.0.1 and /etc/nginx/tls/ is the deployment's EDGE_TLS_DIR (nginx loads
/// the certificate and key at start); everything else is byte-for-byte what compose mounts.
enum NginxCheck {
    static func run(_ files: DeploymentFiles, nginx: String?, env: [String: String] = [:]) -> CheckResult {
        let name = "nginx -t (edge)"
        guard let nginx else { return .skip(name, "nginx is not installed") }
        guard let config = files.edgeNginxConfig(scheme: DeploymentFiles.edgeScheme(env: env)),
              let text = try? String(contentsOf: config, encoding: .utf8) else {
            return .fail(name, "no nginx config with an http block under edge/", hint: "add edge/nginx.conf")
        }
        let tlsFolder = files.edgeTLSFolder(env: env)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-nginx-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        do {
            // Copy the whole folder so relative includes still resolve; the certificate paths
            // point where compose mounts EDGE_TLS_DIR, so nginx loads the deployment's own files.
            try copyContents(of: config.deletingLastPathComponent(), to: scratch, tlsFolder: tlsFolder)
            let copy = scratch.appendingPathComponent(config.lastPathComponent)
            try Data(localUpstreams(mountedTLS(text, tlsFolder)).utf8).write(to: copy)
            let result = try ProcessRunner.run(nginx, [
                "-t", "-q", "-p", scratch.path, "-e", "stderr", "-c", copy.path, "-g", "pid \(scratch.path)/nginx.pid;",
            ])
            guard result.exitCode == 0 else {
                let problems = result.output.split(separator: "\n").filter { $0.contains("[emerg]") || $0.contains("[crit]") }
                // A log or temp file this user may not open (e.g. /var/log/nginx as non-root) says
                // nothing about the config: that is the machine, not a mistake to fix.
                if !problems.isEmpty, problems.allSatisfy({ $0.contains("failed (13: Permission denied)") }) {
                    return .skip(name, "nginx -t could not open its files as this user; run check as root for this test")
                }
                let message = problems
                    .map { line in
                        // "2026/11/25 10:00:00 [emerg] 123#123: message" → "[emerg] message"
                        line.replacingOccurrences(of: #"^[0-9/]+ [0-9:]+ "#, with: "", options: .regularExpression)
                            .replacingOccurrences(of: #"\d+#\d+: "#, with: "", options: .regularExpression)
                            .replacingOccurrences(of: scratch.path, with: "edge")
                    }.joined(separator: " | ")
                return .fail(name, message.isEmpty ? "exit \(result.exitCode)" : message, hint: "fix \(files.relative(config))")
            }
            return .pass(name, "\(files.relative(config)) is valid (upstream hosts mapped to 127.0.0.1, /etc/nginx/tls to \(files.relative(tlsFolder)) for the test)")
        } catch {
            return .fail(name, "could not run nginx: \(error)", hint: "check that `nginx -v` works")
        }
    }

    /// Contents only: FileManager.copyItem also copies the owner, which fails for a non-root
    /// operator checking root-owned files.
    /// `/etc/nginx/tls/fullchain.pem` → `<EDGE_TLS_DIR>/fullchain.pem`, as the container sees it.
    static func mountedTLS(_ text: String, _ folder: URL) -> String {
        text.replacingOccurrences(of: "/etc/nginx/tls/", with: folder.path + "/")
    }

    static func copyContents(of source: URL, to target: URL, tlsFolder: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: source.path) {
            let from = source.appendingPathComponent(name), to = target.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: from.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try copyContents(of: from, to: to, tlsFolder: tlsFolder)
            } else if name.hasSuffix(".conf"), let text = try? String(contentsOf: from, encoding: .utf8) {
                // Included files may hold the upstreams and the certificate paths too.
                try Data(localUpstreams(mountedTLS(text, tlsFolder)).utf8).write(to: to)
            } else {
                try Data(contentsOf: from).write(to: to)
            }
        }
    }

    /// `server grafana:3000` inside `upstream { }` → `server 127.0.0.1:3000`.
    static func localUpstreams(_ text: String) -> String {
        let pattern = #"(upstream\s+[^\s{]+\s*\{[^}]*?\bserver\s+)([A-Za-z][A-Za-z0-9_.-]*)(:\d+)"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return text }
        return regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1127.0.0.1$3")
    }
}
