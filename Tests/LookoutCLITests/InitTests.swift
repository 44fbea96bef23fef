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

    // MARK: - init --tls

    static func openssl(_ arguments: [String]) throws -> String {
        let openssl = try #require(TestSupport.tool("openssl"), "openssl is part of Debian's base system")
        let result = try TestSupport.run(openssl, arguments)
        return result.stdout + result.stderr
    }

    @Test func tlsMakesAPrivateCAAndACertificateOpenSSLVerifies() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try TestSupport.lookout(["init", "--dir", folder.path, "--tls", "--tls-name", "mon.shop.test", "--tls-name", "10.1.2.3"])
        #expect(result.status == 0, "\(result.stderr)")
        let ca = folder.appendingPathComponent("secrets/ca/lookout-ca.crt"), caKey = folder.appendingPathComponent("secrets/ca/lookout-ca.key")
        let certificate = folder.appendingPathComponent("secrets/tls/fullchain.pem"), key = folder.appendingPathComponent("secrets/tls/privkey.pem")
        // An independent verifier: OpenSSL accepts the chain for TLS servers and each name.
        for name in ["mon.shop.test", "monitoring-host"] {
            let verified = try Self.openssl(["verify", "-CAfile", ca.path, "-purpose", "sslserver", "-verify_hostname", name, certificate.path])
            #expect(verified.contains(": OK"), "\(name): \(verified)")
        }
        #expect(try Self.openssl(["verify", "-CAfile", ca.path, "-verify_ip", "10.1.2.3", certificate.path]).contains(": OK"))
        #expect(!(try Self.openssl(["verify", "-CAfile", ca.path, "-verify_hostname", "other.shop.test", certificate.path]).contains(": OK")))
        let text = try Self.openssl(["x509", "-in", certificate.path, "-noout", "-text"])
        #expect(text.contains("DNS:mon.shop.test") && text.contains("IP Address:10.1.2.3") && text.contains("DNS:monitoring-host"))
        #expect(text.contains("CA:FALSE") && text.contains("TLS Web Server Authentication"))
        // The key fits the certificate (the same public key).
        #expect(try Self.openssl(["pkey", "-in", key.path, "-pubout"]) == (try Self.openssl(["x509", "-in", certificate.path, "-noout", "-pubkey"])))
        // Keys are for the owner only, and never printed.
        for file in [caKey, key] {
            #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) == 0o600, "\(file.lastPathComponent)")
            let body = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").dropFirst().first.map(String.init) ?? ""
            #expect(!body.isEmpty && !result.stdout.contains(body))
        }
        // Where the CA is and how to trust it on the application host.
        #expect(result.stdout.contains("The private CA is \(ca.standardizedFileURL.path)"))
        #expect(result.stdout.contains("PROMTAIL_CA_FILE=/etc/lookout/tls/lookout-ca.crt"))
        #expect(result.stdout.contains("LOKI_DRIVER_CA_FILE=/etc/lookout/lookout-ca.crt"))
        #expect(result.stdout.contains("update-ca-certificates"))
        #expect(!result.stdout.contains("TLS certificate:"), "no TLS to-do once the certificate exists")
        #expect(try Self.env(folder)["EDGE_SCHEME"] == "https")
    }

    @Test func tlsKeepsTheCAForGoodAndTheCertificateWhileItServes() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        func read(_ path: String) throws -> String { try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8) }
        #expect(try TestSupport.lookout(["init", "--dir", folder.path, "--tls", "--tls-name", "10.1.2.3"]).status == 0)
        let ca = try read("secrets/ca/lookout-ca.crt"), certificate = try read("secrets/tls/fullchain.pem")

        let again = try TestSupport.lookout(["init", "--dir", folder.path, "--tls"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("kept the private CA"))
        #expect(again.stdout.contains("kept secrets/tls/fullchain.pem"))
        #expect(try read("secrets/tls/fullchain.pem") == certificate)

        // A new name: a new certificate from the same CA, which keeps the earlier names too.
        let renamed = try TestSupport.lookout(["init", "--dir", folder.path, "--tls", "--tls-name", "mon.shop.test"])
        #expect(renamed.stdout.contains("renewed: mon.shop.test was not among its names"), "\(renamed.stdout)")
        #expect(try read("secrets/tls/fullchain.pem") != certificate)
        let text = try Self.openssl(["x509", "-in", folder.appendingPathComponent("secrets/tls/fullchain.pem").path, "-noout", "-text"])
        #expect(text.contains("DNS:mon.shop.test") && text.contains("IP Address:10.1.2.3"))

        // --force replaces secrets and the certificate, never the CA everyone trusts.
        #expect(try TestSupport.lookout(["init", "--dir", folder.path, "--tls", "--force"]).status == 0)
        #expect(try read("secrets/ca/lookout-ca.crt") == ca)
        #expect(try Self.openssl(["verify", "-CAfile", folder.appendingPathComponent("secrets/ca/lookout-ca.crt").path,
                                  folder.appendingPathComponent("secrets/tls/fullchain.pem").path]).contains(": OK"))
    }

    @Test func tlsRenewsACertificateAboutToExpire() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Initializer(options: .init(directory: folder, tls: true)).run()
        // Issued as if 810 days ago: 15 days left, under the 30-day renewal window.
        try TLSCheckTests.issue(folder, issuedAt: Date().addingTimeInterval(-810 * 86_400))
        let summary = try Initializer(options: .init(directory: folder, tls: true)).run()
        #expect(summary.actions.contains { $0.contains("renewed: it expires within 30 days") }, "\(summary.actions)")
        let renewed = try PEMFiles.certificates(at: folder.appendingPathComponent("secrets/tls/fullchain.pem"), named: "")[0]
        #expect(CertificateFacts.daysLeft(renewed) >= 800)
    }

    @Test func tlsNeverReplacesTheOperatorsOwnCertificateWithoutForce() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        // An ACME certificate, say: from a CA that is not the private one.
        let other = try PrivateCA.create(name: "Some public CA")
        let (certificate, key) = try other.issue(names: ["monitoring-host"])
        let tls = folder.appendingPathComponent("secrets/tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
        let pem = try certificate.serializeAsPEM().pemString
        try pem.write(to: tls.appendingPathComponent("fullchain.pem"), atomically: true, encoding: .utf8)
        try (try key.serializeAsPEM().pemString).write(to: tls.appendingPathComponent("privkey.pem"), atomically: true, encoding: .utf8)

        let refused = try TestSupport.lookout(["init", "--dir", folder.path, "--tls"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("secrets/tls/fullchain.pem was not issued by the private CA (your own certificate?): kept; pass --force"), "\(refused.stderr)")
        #expect(try String(contentsOf: tls.appendingPathComponent("fullchain.pem"), encoding: .utf8) == pem)
        // Nothing was written on the way: no CA, no .env.
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("secrets/ca").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(".env").path))
        // Without --tls, init leaves TLS alone and has no TLS to-do: the certificate is there.
        let plain = try TestSupport.lookout(["init", "--dir", folder.path])
        #expect(plain.status == 0 && !plain.stdout.contains("TLS certificate:"))
        #expect(try TestSupport.lookout(["init", "--dir", folder.path, "--tls", "--force"]).status == 0)
        #expect(try String(contentsOf: tls.appendingPathComponent("fullchain.pem"), encoding: .utf8) != pem)
    }

    @Test func withoutTLSInitSaysTheCertificateIsMissing() throws {
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try TestSupport.lookout(["init", "--dir", folder.path])
        #expect(result.stdout.contains("TLS certificate: secrets/tls/fullchain.pem and privkey.pem are missing"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("secrets/ca").path))
    }
}

