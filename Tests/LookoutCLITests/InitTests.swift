import Foundation
import HummingbirdBcrypt
import Testing
@testable import LookoutCLI

@Suite struct InitTests {
    static let secretKeys = ["GRAFANA_ADMIN_PASSWORD", "PROMETHEUS_PASSWORD", "ALERTMANAGER_PASSWORD", "LOKI_PUSH_PASSWORD"]

    static func env(_ folder: URL) throws -> DotEnv {
        try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
    }

    @Test func writesStrongSecretsAndNeverPrintsThem() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try TestSupport.lookout(["init", "--dir", folder.path, "--app-url", "http://shop.test:8080", "--alert-to", "ops@shop.test"])
        #expect(result.status == 0, "\(result.stderr)")

        let env = try Self.env(folder)
        var secrets: [String] = []
        for key in Self.secretKeys {
            let value = try #require(env[key])
            #expect(value.count == 32 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "\(key) is not a 32-character random string")
            secrets.append(value)
        }
        #expect(Set(secrets).count == secrets.count, "each secret must be different")
        for secret in secrets {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "a secret was printed")
            // Not even a fragment that would let someone reconstruct it.
            #expect(!result.stdout.contains(secret.prefix(8)))
        }
        // .env is for the operator only.
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(".env").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // Settings given on the command line, and the origin derived from the application URL.
        #expect(env["ALERT_EMAIL_TO"] == "ops@shop.test")
        #expect(env["LOOKOUT_ALLOWED_ORIGINS"] == "http://shop.test:8080")
        let targets = try String(contentsOf: folder.appendingPathComponent("prometheus/targets/http-probes.yml"), encoding: .utf8)
        #expect(targets.contains("- http://shop.test:8080"))
        // What is left to do, and the SMTP placeholder said plainly.
        #expect(result.stdout.contains("Still to do:"))
        #expect(result.stdout.contains("secrets/smtp_password holds the placeholder `pass`"))
        #expect(result.stdout.contains("SMTP relay: set SMTP_SMARTHOST"))
        #expect(result.stdout.contains("NFS: mount"))
        #expect(!result.stdout.contains("alert recipient"), "--alert-to was given")
        let smtp = try String(contentsOf: folder.appendingPathComponent("secrets/smtp_password"), encoding: .utf8)
        #expect(smtp == "pass", "no trailing newline (secrets/README.md)")
    }

    @Test func refusesToOverwriteSecretsWithoutForce() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try TestSupport.lookout(["init", "--dir", folder.path]).status == 0)
        let first = try Self.env(folder)
        let agentsFile = folder.appendingPathComponent("secrets/edge/agents.htpasswd")
        let firstHash = try String(contentsOf: agentsFile, encoding: .utf8)
        try "the-operators-real-smtp-password".write(to: folder.appendingPathComponent("secrets/smtp_password"), atomically: true, encoding: .utf8)

        let again = try TestSupport.lookout(["init", "--dir", folder.path])
        #expect(again.status == 0)
        #expect(again.stdout.contains("kept existing GRAFANA_ADMIN_PASSWORD"))
        #expect(again.stdout.contains("use --force to replace"))
        let second = try Self.env(folder)
        for key in Self.secretKeys { #expect(first[key] == second[key], "\(key) changed without --force") }
        #expect(try String(contentsOf: agentsFile, encoding: .utf8) == firstHash, "htpasswd rewritten without need")

        let forced = try TestSupport.lookout(["init", "--dir", folder.path, "--force"])
        #expect(forced.status == 0)
        let third = try Self.env(folder)
        for key in Self.secretKeys { #expect(first[key] != third[key], "\(key) not replaced with --force") }
        #expect(Htpasswd.verify(file: try String(contentsOf: agentsFile, encoding: .utf8), user: "agent", password: third["LOKI_PUSH_PASSWORD"]!))
        // The SMTP password is the operator's: never replaced, not even with --force.
        #expect(try String(contentsOf: folder.appendingPathComponent("secrets/smtp_password"), encoding: .utf8) == "the-operators-real-smtp-password")
    }

    /// Everything init puts back is named, and a replaced push password says who else must change.
    @Test func reportsEveryRestoredVariableAndWhatAReplacedPasswordBreaks() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try TestSupport.lookout(["init", "--dir", folder.path]).status == 0)
        let envURL = folder.appendingPathComponent(".env")
        let lines = try String(contentsOf: envURL, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try lines.filter { !$0.hasPrefix("LOKI_PUSH_PASSWORD=") && !$0.hasPrefix("ALERT_EMAIL_TO=") }
            .joined(separator: "\n").write(to: envURL, atomically: true, encoding: .utf8)

        let again = try TestSupport.lookout(["init", "--dir", folder.path])
        #expect(again.status == 0)
        #expect(again.stdout.contains("restored ALERT_EMAIL_TO, LOKI_PUSH_PASSWORD from .env.example"), "\(again.stdout)")
        #expect(again.stdout.contains("new random LOKI_PUSH_PASSWORD"))
        // A password that was missing was not in use anywhere: nothing else to change.
        #expect(!again.stdout.contains("application host's .env"))

        let forced = try TestSupport.lookout(["init", "--dir", folder.path, "--force"])
        #expect(forced.status == 0)
        #expect(forced.stdout.contains("LOKI_PUSH_PASSWORD changed: put the new value into the application host's .env"), "\(forced.stdout)")
        #expect(forced.stdout.contains("GRAFANA_ADMIN_PASSWORD changed in .env, but Grafana reads it only on its first start"))
    }

    @Test func keepsAStrongSecretTheOperatorSetByHand() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        var env = try DotEnv(contentsOf: folder.appendingPathComponent(".env.example"))
        env["GRAFANA_ADMIN_PASSWORD"] = "an-operator-chosen-long-password"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        _ = try Initializer(options: .init(directory: folder)).run()
        let after = try Self.env(folder)
        #expect(after["GRAFANA_ADMIN_PASSWORD"] == "an-operator-chosen-long-password")
        #expect(after["PROMETHEUS_PASSWORD"] != "CHANGE-ME", "placeholders are replaced even when .env exists")
    }

    /// Independent verifiers: HummingbirdBcrypt directly, and Python's bcrypt (another implementation).
    @Test func htpasswdHashesVerifyWithBcrypt() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Initializer(options: .init(directory: folder)).run()
        let env = try Self.env(folder)
        for account in DeploymentContract.edgeAccounts {
            let text = try String(contentsOf: folder.appendingPathComponent(account.htpasswdFile), encoding: .utf8)
            let parts = text.trimmingCharacters(in: .newlines).split(separator: ":", maxSplits: 1).map(String.init)
            #expect(parts.count == 2 && parts[0] == env[account.userKey])
            #expect(parts[1].hasPrefix("$2b$") || parts[1].hasPrefix("$2y$"))
            #expect(Bcrypt.verify(env[account.passwordKey]!, hash: parts[1]))
            #expect(!Bcrypt.verify(env[account.passwordKey]! + "x", hash: parts[1]))
            let python = try ProcessRunner.run("/usr/bin/env", ["python3", "-c",
                "import bcrypt,sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))",
                env[account.passwordKey]!, parts[1]])
            #expect(python.output.trimmingCharacters(in: .whitespacesAndNewlines) == "True", "python bcrypt: \(python.output)")
        }
    }

    /// The proof that matters: a real nginx with auth_basic accepts the generated file.
    @Test func nginxAcceptsTheGeneratedHtpasswd() async throws {
        let nginx = try #require(TestSupport.tool("nginx"), "nginx is installed by scripts/install-deps")
        let folder = try TestSupport.deployment("deployment-good")
        let scratch = try TestSupport.temporaryFolder("nginx")
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: scratch)
        }
        _ = try Initializer(options: .init(directory: folder)).run()
        let env = try Self.env(folder)
        // Compose bind-mounts secrets/edge at /etc/nginx/secrets; here a copy in nginx's own folder.
        let htpasswd = scratch.appendingPathComponent("agents.htpasswd")
        try FileManager.default.copyItem(at: folder.appendingPathComponent("secrets/edge/agents.htpasswd"), to: htpasswd)
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("www"), withIntermediateDirectories: true)
        try "welcome\n".write(to: scratch.appendingPathComponent("www/index.html"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.appendingPathComponent("www").path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scratch.appendingPathComponent("www/index.html").path)
        let port = TestSupport.freePort()
        let config = scratch.appendingPathComponent("nginx.conf")
        try """
            daemon off;
            pid \(scratch.path)/nginx.pid;
            error_log stderr;
            events {}
            http {
                access_log off;
                client_body_temp_path \(scratch.path)/body;
                proxy_temp_path \(scratch.path)/proxy;
                fastcgi_temp_path \(scratch.path)/fastcgi;
                uwsgi_temp_path \(scratch.path)/uwsgi;
                scgi_temp_path \(scratch.path)/scgi;
                server {
                    listen 127.0.0.1:\(port);
                    # A static file, not `return`: `return` runs before the access phase and
                    # would answer without asking for credentials.
                    location / {
                        root \(scratch.path)/www;
                        auth_basic "lookout test";
                        auth_basic_user_file \(htpasswd.path);
                    }
                }
            }
            """.write(to: config, atomically: true, encoding: .utf8)
        let server = try BackgroundProcess(nginx, ["-p", scratch.path, "-e", "stderr", "-c", config.path], log: scratch.appendingPathComponent("nginx.log"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(port)/"
        try await TestSupport.waitForHTTP(url, status: 401)

        let web = WebClient(timeoutSeconds: 5)
        let user = env["LOKI_PUSH_USER"]!, password = env["LOKI_PUSH_PASSWORD"]!
        let right = try await web.send(.GET, url, auth: BasicAuth(user: user, password: password))
        #expect(right.status == 200, "nginx refused the right password: \(server.output)")
        #expect(right.text == "welcome\n")
        let wrong = try await web.send(.GET, url, auth: BasicAuth(user: user, password: password + "x"))
        #expect(wrong.status == 401)
        let none = try await web.send(.GET, url)
        #expect(none.status == 401)
    }
}
