import Foundation

/// `lookout init`: fills `.env` from `.env.example` with random secrets, writes the edge's
/// htpasswd files, the probe targets and the SMTP password file.
///
/// Rules: an existing secret is kept unless `force`; no secret is ever returned in the summary.
public struct Initializer: Sendable {
    public struct Options: Sendable {
        public var directory: URL
        public var appURL: String?
        public var smtpHost: String?
        public var smtpUser: String?
        public var alertTo: String?
        public var force: Bool
        /// Make (or renew) the private CA and the edge's certificate.
        public var tls: Bool
        /// Extra names (DNS names or IP addresses) for the edge's certificate.
        public var tlsNames: [String]

        public init(directory: URL, appURL: String? = nil, smtpHost: String? = nil, smtpUser: String? = nil,
                    alertTo: String? = nil, force: Bool = false, tls: Bool = false, tlsNames: [String] = []) {
            self.directory = directory
            self.appURL = appURL
            self.smtpHost = smtpHost
            self.smtpUser = smtpUser
            self.alertTo = alertTo
            self.force = force
            self.tls = tls
            self.tlsNames = tlsNames
        }
    }

    /// What init did and what the operator still has to do; safe to print (names only, no values).
    public struct Summary: Sendable {
        public var actions: [String] = []
        public var todo: [String] = []
        /// With --tls: where the private CA is and who must trust it (first line is the heading).
        public var trust: [String] = []

        public func render() -> String {
            var text = actions.map { "• \($0)" }.joined(separator: "\n") + "\n"
            if let heading = trust.first {
                text += "\n\(heading)\n" + trust.dropFirst().map { "  - \($0)" }.joined(separator: "\n") + "\n"
            }
            if !todo.isEmpty {
                text += "\nStill to do:\n" + todo.map { "  - \($0)" }.joined(separator: "\n") + "\n"
            }
            text += "\nSecrets are in .env and secrets/ (never printed). Next: lookout check, then docker compose up -d.\n"
            return text
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case missingExample(String)

        public var description: String {
            switch self {
            case .missingExample(let path): return "\(path) not found: is this the deployment folder?"
            }
        }
    }

    public var options: Options

    public init(options: Options) {
        self.options = options
    }

    var root: URL { options.directory.standardizedFileURL }

    public func run() throws -> Summary {
        var summary = Summary()
        let exampleURL = root.appendingPathComponent(".env.example")
        let envURL = root.appendingPathComponent(".env")
        guard FileManager.default.fileExists(atPath: exampleURL.path) else { throw Failure.missingExample(exampleURL.path) }
        let example = try DotEnv(contentsOf: exampleURL)

        var env: DotEnv
        var restored: [String] = []
        let envExisted = FileManager.default.fileExists(atPath: envURL.path)
        if envExisted {
            env = try DotEnv(contentsOf: envURL)
            // Variables added to .env.example since the last init, or deleted by hand.
            for key in example.keys where env[key] == nil {
                env[key] = example[key]
                restored.append(key)
            }
        } else {
            env = example
        }

        // Edge logins compose does not read (nginx reads only the hashes): added so that the
        // operator, `doctor` and `test-alert` find them in .env.
        var addedAccounts = false
        for account in DeploymentContract.edgeAccounts where env[account.userKey] == nil {
            if !addedAccounts {
                env.lines.append(.other(""))
                env.lines.append(.other("# --- Edge logins (added by lookout init; the edge reads only secrets/edge/*.htpasswd) ---"))
                addedAccounts = true
            }
            env[account.userKey] = account.defaultUser
            if env[account.passwordKey] == nil { env[account.passwordKey] = "" }
        }

        var generated: [String] = []
        var kept: [String] = []
        var replaced: [String] = []   // real secrets that --force changed: whoever uses them must change too
        for key in env.keys where SecretPolicy.isSecretKey(key) {
            let current = env[key] ?? ""
            let isPlaceholder = SecretPolicy.problem(with: current, exampleValue: example[key]) != nil
            if options.force || isPlaceholder {
                env[key] = SecretGenerator.password()
                generated.append(key)
                if !isPlaceholder { replaced.append(key) }
            } else {
                kept.append(key)
            }
        }

        var settings: [String] = []
        func set(_ key: String, _ value: String?) {
            guard let value else { return }
            env[key] = value
            settings.append(key)
        }
        if let appURL = options.appURL, let origin = Self.origin(of: appURL),
           env[DeploymentContract.allowedOriginsKey] == nil || env[DeploymentContract.allowedOriginsKey] == example[DeploymentContract.allowedOriginsKey] {
            // Browsers on the application send its origin; the collector must allow it.
            set(DeploymentContract.allowedOriginsKey, origin)
        }
        set(DeploymentContract.smtpSmarthostKey, options.smtpHost)
        set(DeploymentContract.smtpUserKey, options.smtpUser)
        set(DeploymentContract.alertToKey, options.alertTo)

        // Before .env is written: --tls turns EDGE_SCHEME back to https.
        var tls = TLSOutcome()
        if options.tls {
            try FileWriter.makeFolder(root.appendingPathComponent(DeploymentContract.secretsFolder), permissions: 0o700)
            tls = try writeTLS(env: &env)
        }

        let previous = envExisted ? try? String(contentsOf: envURL, encoding: .utf8) : nil
        let changed = previous != env.render()
        if changed { try FileWriter.write(env.render(), to: envURL, permissions: 0o600) }
        var envAction = "\(!envExisted ? "wrote" : changed ? "updated" : "kept") .env"
        if !restored.isEmpty { envAction += ": restored \(restored.joined(separator: ", ")) from .env.example" }
        if !generated.isEmpty { envAction += "\(restored.isEmpty ? ":" : ";") new random \(generated.joined(separator: ", "))" }
        if !kept.isEmpty { envAction += "; kept existing \(kept.joined(separator: ", ")) (use --force to replace)" }
        if !settings.isEmpty { envAction += "; set \(settings.joined(separator: ", "))" }
        summary.actions.append(envAction)

        try FileWriter.makeFolder(root.appendingPathComponent(DeploymentContract.secretsFolder), permissions: 0o700)
        try FileWriter.makeFolder(root.appendingPathComponent(DeploymentContract.edgeSecretsFolder), permissions: 0o755)
        for account in DeploymentContract.edgeAccounts {
            summary.actions.append(try writeHtpasswd(account, env: env))
        }
        summary.actions.append(try writeProbeTargets())
        summary.actions.append(try writeSMTPPassword())
        summary.actions.append(contentsOf: tls.actions)
        summary.trust = tls.trust
        summary.todo = Self.consequences(ofReplacing: replaced) + todo(env: env)
        return summary
    }

    /// What must follow when --force replaced a secret that was already in use elsewhere.
    static func consequences(ofReplacing replaced: [String]) -> [String] {
        var todo: [String] = []
        let agents = DeploymentContract.agentsAccount
        if replaced.contains(agents.passwordKey) {
            todo.append("\(agents.passwordKey) changed: put the new value into the application host's .env, then recreate what pushes with it there "
                + "(`docker compose up -d --force-recreate`: the promtail service and every container logging through the loki driver read it at creation), "
                + "and here `docker compose up -d --force-recreate` for the monitoring services' own loki-driver logs; until then their pushes get 401")
        }
        if replaced.contains(DeploymentContract.grafanaAdminPasswordKey) {
            todo.append("\(DeploymentContract.grafanaAdminPasswordKey) changed in .env, but Grafana reads it only on its first start: set the same password in Grafana "
                + "(`docker compose exec grafana grafana cli admin reset-admin-password '<new password>'`)")
        }
        let edgeLogins = DeploymentContract.edgeAccounts.filter { $0.passwordKey != agents.passwordKey && replaced.contains($0.passwordKey) }
        if !edgeLogins.isEmpty {
            // nginx reads the htpasswd file on every request: the new login works at once.
            todo.append("\(edgeLogins.map(\.passwordKey).joined(separator: ", ")) changed: the old login stops working now; update saved logins (browsers, scripts)")
        }
        return todo
    }

    /// Rewritten only when it does not already accept the .env credentials: the hash is
    /// derived from .env, so .env stays the one source of truth.
    func writeHtpasswd(_ account: DeploymentContract.EdgeAccount, env: DotEnv) throws -> String {
        let url = root.appendingPathComponent(account.htpasswdFile)
        guard let user = env[account.userKey], !user.isEmpty, let password = env[account.passwordKey], !password.isEmpty else {
            return "skipped \(account.htpasswdFile): \(account.userKey)/\(account.passwordKey) missing from .env.example"
        }
        if !options.force, let existing = try? String(contentsOf: url, encoding: .utf8),
           Htpasswd.verify(file: existing, user: user, password: password) {
            return "kept \(account.htpasswdFile) (matches .env)"
        }
        // nginx's worker (not root) reads this file inside the container: readable, hashes only.
        try FileWriter.write(Htpasswd.line(user: user, password: password) + "\n", to: url, permissions: 0o644)
        return "wrote \(account.htpasswdFile) (bcrypt, for \(account.purpose))"
    }

    func writeProbeTargets() throws -> String {
        let path = DeploymentContract.probeTargetsFile
        let url = root.appendingPathComponent(path)
        let exists = FileManager.default.fileExists(atPath: url.path)
        guard options.appURL != nil || !exists else { return "kept \(path)" }
        let target = options.appURL ?? DeploymentContract.defaultAppURL
        let text = """
            # URLs the uptime check probes once a minute (job blackbox-http, module http_200: only an
            # HTTP 200 answer counts as up). Written by `lookout init --app-url`; edit it to add sites.
            # Prometheus re-reads it on change, no restart needed.
            #
            # `site` names the application in every alert and dashboard. Keep it identical to the
            # `site` label the Promtail configs put on the logs (default: application).
            - targets:
                - \(target)
              labels:
                site: \(DeploymentContract.defaultSite)

            """
        try FileWriter.write(text, to: url, permissions: 0o644)
        return "wrote \(path) (probes \(target))"
    }

    /// The SMTP password is the operator's, not ours: written once as the prompt's placeholder,
    /// never replaced (not even with --force).
    func writeSMTPPassword() throws -> String {
        let path = DeploymentContract.smtpPasswordFile
        let url = root.appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: url.path) { return "kept \(path)" }
        // Alertmanager runs as `nobody` in its image and reads this bind-mounted file.
        // No trailing newline: older Alertmanagers send it as part of the password.
        try FileWriter.write(DeploymentContract.smtpPasswordPlaceholder, to: url, permissions: 0o644)
        return "wrote \(path) with the placeholder value `\(DeploymentContract.smtpPasswordPlaceholder)`"
    }

    /// `http://application:80/` → `http://application` (browsers omit the default port in Origin).
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = components.port.map { $0 == defaultPort ? "" : ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)"
    }

    func todo(env: DotEnv) -> [String] {
        var todo: [String] = []
        let smtpPassword = (try? String(contentsOf: root.appendingPathComponent(DeploymentContract.smtpPasswordFile), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if smtpPassword == DeploymentContract.smtpPasswordPlaceholder {
            todo.append("SMTP password: \(DeploymentContract.smtpPasswordFile) holds the placeholder `pass`; put the real password there without a trailing newline: printf %s '<password>' > \(DeploymentContract.smtpPasswordFile)")
        }
        let smtpHost = env[DeploymentContract.smtpSmarthostKey] ?? ""
        if smtpHost.isEmpty || smtpHost.contains("example.com") {
            todo.append("SMTP relay: set \(DeploymentContract.smtpSmarthostKey) (and \(DeploymentContract.smtpUserKey)) in .env, or rerun with --smtp-host/--smtp-user")
        }
        let alertTo = env[DeploymentContract.alertToKey] ?? ""
        if alertTo.isEmpty || alertTo.contains("example.") {
            todo.append("alert recipient: set \(DeploymentContract.alertToKey) in .env, or rerun with --alert-to")
        }
        let unfinished = env.keys.filter { !SecretPolicy.isSecretKey($0) && (env[$0] ?? "").lowercased().contains("change-me") }
        if !unfinished.isEmpty {
            todo.append("settings: \(unfinished.joined(separator: ", ")) in .env still \(unfinished.count == 1 ? "contains" : "contain") CHANGE-ME")
        }
        if options.appURL == nil {
            todo.append("application URL: \(DeploymentContract.probeTargetsFile) probes what it did before (default \(DeploymentContract.defaultAppURL)); rerun with --app-url, and check \(DeploymentContract.allowedOriginsKey) is the origin browsers load the application from")
        }
        let publicURLs = env.keys.filter { key in
            (key.hasSuffix("_URL") || key.hasSuffix("_ROOT_URL")) && (env[key] ?? "").contains("monitoring-host")
        }
        if !publicURLs.isEmpty {
            todo.append("public address: \(publicURLs.joined(separator: ", ")) use the placeholder name monitoring-host; set this host's real name unless browsers and agents resolve it")
        }
        let scheme = env[DeploymentContract.edgeSchemeKey].flatMap { $0.isEmpty ? nil : $0 } ?? DeploymentContract.defaultEdgeScheme
        let folder = Self.tlsFolder(root: root, env: env)
        if scheme == "http" {
            todo.append("TLS: \(DeploymentContract.edgeSchemeKey)=http in .env: the edge speaks plain HTTP and every password crosses the network readable; for a private lab only (rerun with --tls for a private CA)")
        } else if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(DeploymentContract.edgeCertificateFile).path) {
            todo.append("TLS certificate: \(relative(folder))/\(DeploymentContract.edgeCertificateFile) and \(DeploymentContract.edgeKeyFile) are missing and the edge will not start without them: rerun with --tls (a private CA for a private network) or put your certificate there (docs/operations.md, TLS)")
        }
        todo.append("NFS: mount the application host's log folders at /mnt/nginx-logs, /mnt/app-logs, /mnt/redis-logs (placeholder export nfs-server:/data/logs; see docs)")
        return todo
    }
}

enum FileWriter {
    /// Writes atomically, creating parent folders, then sets the permissions.
    static func makeFolder(_ url: URL, permissions: Int) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: url.path)
    }

    static func write(_ text: String, to url: URL, permissions: Int) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: url.path)
    }
}
