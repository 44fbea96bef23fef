import Foundation

/// No placeholder or default secret may reach a running stack, and the edge's htpasswd files
/// must accept the logins written in .env (the Docker loki driver pushes with them).
/// Messages name variables and files, never values.
enum SecretsCheck {
    static func all(_ files: DeploymentFiles) -> [CheckResult] {
        [envSecrets(files), htpasswdFiles(files), smtpPassword(files)]
    }

    static func envSecrets(_ files: DeploymentFiles) -> CheckResult {
        let name = "no placeholder left in .env"
        guard let env = try? DotEnv(contentsOf: files.env) else {
            return .fail(name, ".env not found", hint: "run `lookout init --dir \(files.root.path)`")
        }
        let example = (try? DotEnv(contentsOf: files.envExample)) ?? DotEnv()
        var problems: [String] = []
        let missing = example.keys.filter { env[$0] == nil }
        if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", "))") }
        let secretKeys = env.keys.filter(SecretPolicy.isSecretKey)
        for key in secretKeys {
            if let problem = SecretPolicy.problem(with: env[key] ?? "", exampleValue: example[key]) {
                problems.append("\(key) is \(problem)")
            }
        }
        let secretProblems = !problems.isEmpty
        let unfinished = env.keys.filter { !SecretPolicy.isSecretKey($0) && (env[$0] ?? "").lowercased().contains("change-me") }
        if !unfinished.isEmpty {
            problems.append("\(unfinished.joined(separator: ", ")) still \(unfinished.count == 1 ? "contains" : "contain") CHANGE-ME")
        }
        guard problems.isEmpty else {
            var hints: [String] = []
            if secretProblems {
                hints.append("run `lookout init` (add --force to replace existing secrets), or set strong values by hand")
            }
            if !unfinished.isEmpty { hints.append("edit \(unfinished.joined(separator: ", ")) in .env (see .env.example)") }
            return .fail(name, problems.joined(separator: "; "), hint: hints.joined(separator: "; "))
        }
        return .pass(name, "\(secretKeys.count) secrets set (\(secretKeys.joined(separator: ", ")))")
    }

    static func htpasswdFiles(_ files: DeploymentFiles) -> CheckResult {
        let name = "edge htpasswd files"
        let env = (try? DotEnv(contentsOf: files.env)) ?? DotEnv()
        var problems: [String] = []
        for account in DeploymentContract.edgeAccounts {
            let path = account.htpasswdFile
            guard let text = try? String(contentsOf: files.root.appendingPathComponent(path), encoding: .utf8) else {
                problems.append("\(path) missing")
                continue
            }
            let lines = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            if lines.isEmpty {
                problems.append("\(path) has no user")
                continue
            }
            // Without the login in .env nothing can be verified, and whatever pushes or logs in
            // with it (the Docker loki driver, doctor, test-alert) has no password either.
            guard let user = env[account.userKey], !user.isEmpty, let password = env[account.passwordKey], !password.isEmpty else {
                problems.append("\(path) cannot be checked: \(account.userKey) or \(account.passwordKey) is missing or empty in .env")
                continue
            }
            if !Htpasswd.verify(file: text, user: user, password: password) {
                problems.append("\(path) does not accept \(account.userKey)/\(account.passwordKey) from .env")
            }
        }
        guard problems.isEmpty else {
            return .fail(name, problems.joined(separator: "; "),
                         hint: "run `lookout init` (it writes the files from .env), see secrets/README.md")
        }
        return .pass(name, DeploymentContract.edgeAccounts.map(\.htpasswdFile).joined(separator: ", "))
    }

    static func smtpPassword(_ files: DeploymentFiles) -> CheckResult {
        let name = "SMTP password set"
        let path = DeploymentContract.smtpPasswordFile
        guard let text = try? String(contentsOf: files.root.appendingPathComponent(path), encoding: .utf8) else {
            return .fail(name, "\(path) missing (compose mounts it as a secret and refuses to start without it)",
                         hint: "run `lookout init`, then write the real SMTP password into \(path)")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty || value == DeploymentContract.smtpPasswordPlaceholder || SecretPolicy.problem(with: value) == "a placeholder" {
            return .fail(name, "\(path) still holds the placeholder", hint: "write the SMTP relay's real password into \(path): printf %s '<password>' > \(path)")
        }
        if text.hasSuffix("\n") || text.hasSuffix("\r") {
            return .fail(name, "\(path) ends with a newline, which older Alertmanagers send as part of the password",
                         hint: "rewrite it without one: printf %s '<password>' > \(path)")
        }
        return .pass(name, "\(path) is not a placeholder")
    }
}
