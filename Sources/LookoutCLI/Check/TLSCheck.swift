import Foundation
import X509

/// TLS at the edge, checked before anything starts: the scheme chosen in .env, the certificate
/// and key in EDGE_TLS_DIR (what nginx would refuse to start with, each named by its file), the
/// names browsers and agents will check, and public URLs that speak the edge's scheme.
enum TLSCheck {
    /// Certificates closer to their end than this get a warning (renew now, not at the outage).
    static let warningDays = 14

    static func all(_ files: DeploymentFiles, env: [String: String], now: Date = Date()) -> [CheckResult] {
        let scheme = DeploymentFiles.edgeScheme(env: env)
        var results = [self.scheme(scheme)]
        guard scheme == "https" else {
            let reason = "EDGE_SCHEME=\(scheme): the edge uses no certificate"
            results.append(.skip("edge certificate", reason))
            results.append(.skip("edge certificate names", reason))
            results.append(publicURLs(env: env, scheme: scheme))
            results.append(grafanaCookie(env: env, scheme: scheme))
            return results
        }
        let loaded = load(files, env: env)
        results.append(certificate(files, loaded, now: now))
        results.append(names(loaded, env: env))
        results.append(publicURLs(env: env, scheme: scheme))
        results.append(grafanaCookie(env: env, scheme: scheme))
        return results
    }

    /// Grafana's session cookie is `Secure` behind TLS (GF_SECURITY_COOKIE_SECURE, compose's
    /// default), so a stray plain-HTTP request never carries it; over plain HTTP a Secure
    /// cookie is dropped by the browser and nobody can log in.
    static func grafanaCookie(env: [String: String], scheme: String) -> CheckResult {
        let name = "Grafana login cookie fits the scheme"
        let key = DeploymentContract.grafanaCookieSecureKey
        let secure = (env[key].flatMap { $0.isEmpty ? nil : $0 } ?? "true").lowercased() == "true"
        switch (scheme, secure) {
        case ("https", false):
            return .warn(name, "\(key)=false: Grafana's session cookie would also go out over plain HTTP (a request the edge then redirects)",
                         hint: "set \(key)=true (the default)")
        case ("http", true):
            return .fail(name, "\(key) is true but the edge speaks plain HTTP: browsers drop the Secure cookie, so nobody can log in to Grafana",
                         hint: "set \(key)=false in .env for a plain-HTTP lab (or enable TLS at the edge)")
        default:
            return .pass(name, "\(key)=\(secure) with \(scheme)")
        }
    }

    static func scheme(_ scheme: String) -> CheckResult {
        let name = "TLS at the edge"
        let key = DeploymentContract.edgeSchemeKey
        switch scheme {
        case "https":
            return .pass(name, "\(key)=https: every door (3000, 3100, 9090, 9093) speaks TLS; plain HTTP is redirected (3000) or refused")
        case "http":
            return .warn(name, "\(key)=http: no TLS; every password (Prometheus, Alertmanager, the agents' push login) crosses the network readable, and pages served over HTTPS cannot load logger.js",
                         hint: "acceptable for a private lab only: set \(key)=https and run `lookout init --tls` (private CA) or install your own certificate (docs/operations.md, TLS)")
        default:
            return .fail(name, "\(key)=\(scheme) is neither https nor http, so the edge refuses to start",
                         hint: "set \(key)=https (or http for a private lab)")
        }
    }

    struct Loaded {
        var certificateName: String
        var keyName: String
        var chain: Result<[Certificate], PEMFiles.Problem>
        var key: Result<Certificate.PrivateKey, PEMFiles.Problem>
        var privateCA: (name: String, certificate: Certificate)?
    }

    static func load(_ files: DeploymentFiles, env: [String: String]) -> Loaded {
        let folder = files.edgeTLSFolder(env: env)
        let certificateURL = folder.appendingPathComponent(DeploymentContract.edgeCertificateFile)
        let keyURL = folder.appendingPathComponent(DeploymentContract.edgeKeyFile)
        let certificateName = files.relative(certificateURL), keyName = files.relative(keyURL)
        func attempt<T>(_ body: () throws -> T) -> Result<T, PEMFiles.Problem> {
            do { return .success(try body()) } catch let problem as PEMFiles.Problem { return .failure(problem) } catch {
                return .failure(PEMFiles.Problem("\(error)"))
            }
        }
        let caURL = files.root.appendingPathComponent(DeploymentContract.caCertificateFile)
        let ca = (try? PEMFiles.certificates(at: caURL, named: DeploymentContract.caCertificateFile))?.first
        return Loaded(
            certificateName: certificateName, keyName: keyName,
            chain: attempt { try PEMFiles.certificates(at: certificateURL, named: certificateName) },
            key: attempt { try PEMFiles.privateKey(at: keyURL, named: keyName) },
            privateCA: ca.map { (DeploymentContract.caCertificateFile, $0) }
        )
    }

    static func certificate(_ files: DeploymentFiles, _ loaded: Loaded, now: Date) -> CheckResult {
        let name = "edge certificate"
        let remedy = "run `lookout init --tls` for a private CA, or copy your certificate chain and its key to \(loaded.certificateName) and \(loaded.keyName) (docs/operations.md, TLS)"
        let chain: [Certificate]
        switch loaded.chain {
        case .failure(let problem): return .fail(name, problem.description, hint: remedy)
        case .success(let value): chain = value
        }
        let key: Certificate.PrivateKey
        switch loaded.key {
        case .failure(let problem): return .fail(name, problem.description, hint: remedy)
        case .success(let value): key = value
        }
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else {
            let other = chain.dropFirst().contains { $0.publicKey == key.publicKey }
            return .fail(name, "\(loaded.keyName) does not fit \(loaded.certificateName): the key is not the certificate's" + (other ? " (it is an intermediate's: put the server certificate first)" : ""),
                         hint: "put the key that belongs to the certificate into \(loaded.keyName) (with an ACME client: its privkey.pem next to fullchain.pem)")
        }
        if leaf.notValidBefore > now {
            return .fail(name, "\(loaded.certificateName) is not valid before \(CertificateFacts.day(leaf.notValidBefore))",
                         hint: "check this host's clock, or use a certificate that is valid now")
        }
        let days = CertificateFacts.daysLeft(leaf, now: now)
        guard leaf.notValidAfter > now else {
            return .fail(name, "\(loaded.certificateName) expired on \(CertificateFacts.day(leaf.notValidAfter)): browsers and agents refuse it",
                         hint: "renew it: `lookout init --tls` for the private CA, or your ACME client's renewal (docs/operations.md, TLS)")
        }
        if let usage = try? leaf.extensions.extendedKeyUsage, !usage.contains(.serverAuth), !usage.contains(.any) {
            return .fail(name, "\(loaded.certificateName) is not for TLS servers (its extended key usage lacks serverAuth)",
                         hint: "use a server (TLS web server) certificate")
        }
        for (index, pair) in zip(chain, chain.dropFirst()).enumerated() where pair.0.issuer != pair.1.subject {
            return .fail(name, "\(loaded.certificateName): certificate #\(index + 2) did not issue certificate #\(index + 1); the chain must go from the server certificate up",
                         hint: "put the server certificate first, then each intermediate in order (an ACME client's fullchain.pem is in that order)")
        }
        var issuer = leaf.issuer.description
        if let ca = loaded.privateCA, leaf.issuer == ca.certificate.subject {
            guard ca.certificate.publicKey.isValidSignature(leaf.signature, for: leaf) else {
                return .fail(name, "\(loaded.certificateName) names \(ca.name) as its issuer but is not signed by it",
                             hint: "rerun `lookout init --tls --force` to issue a certificate from the CA in \(DeploymentContract.caFolder)/")
            }
            issuer = "the private CA \(ca.name)"
        }
        let detail = "\(loaded.certificateName) for \(CertificateFacts.names(of: leaf).joined(separator: ", ")), issued by \(issuer), valid until \(CertificateFacts.day(leaf.notValidAfter)) (\(days) days); \(loaded.keyName) fits it"
        if days < warningDays {
            return .warn(name, detail, hint: "renew it soon: `lookout init --tls` for the private CA, or your ACME client (the edge reloads the new files by itself)")
        }
        return .pass(name, detail)
    }

    /// Every host a client will use (the public URLs, and the name the monitoring host's own
    /// Docker driver checks) must be one of the certificate's names.
    static func names(_ loaded: Loaded, env: [String: String]) -> CheckResult {
        let name = "edge certificate names"
        guard case .success(let chain) = loaded.chain else {
            return .skip(name, "no certificate to read (see the line above)")
        }
        var hosts: [(key: String, host: String)] = DeploymentContract.publicURLKeys.compactMap { key in
            env[key].flatMap { URLComponents(string: $0)?.host }.map { (key, $0) }
        }
        if let server = env[DeploymentContract.edgeServerNameKey], !server.isEmpty {
            hosts.append((DeploymentContract.edgeServerNameKey, server))
        }
        let missing = hosts.filter { !CertificateFacts.covers(chain[0], host: $0.host) }
        guard missing.isEmpty else {
            let list = missing.map { "\($0.host) (\($0.key))" }.joined(separator: ", ")
            return .fail(name, "\(list) not among the names of \(loaded.certificateName) (\(CertificateFacts.names(of: chain[0]).joined(separator: ", "))): clients would refuse the connection",
                         hint: "issue the certificate for those names (`lookout init --tls` takes the .env hosts and --tls-name), or correct the URLs in .env")
        }
        let unique = Set(hosts.map(\.host)).sorted()
        return .pass(name, "covers \(unique.joined(separator: ", "))")
    }

    static func publicURLs(env: [String: String], scheme: String) -> CheckResult {
        let name = "public URLs use the edge's scheme"
        let wrong = DeploymentContract.publicURLKeys.filter { key in
            guard let value = env[key], !value.isEmpty else { return false }
            return URLComponents(string: value)?.scheme?.lowercased() != scheme
        }
        guard wrong.isEmpty else {
            return .fail(name, "\(wrong.joined(separator: ", ")) \(wrong.count == 1 ? "does" : "do") not start with \(scheme)://, but the edge speaks \(scheme) (EDGE_SCHEME)",
                         hint: "write them as \(scheme)://<monitoring-host>:<port>/ in .env: Grafana's links, alert mails and logger.js use them")
        }
        return .pass(name, DeploymentContract.publicURLKeys.filter { env[$0] != nil }.joined(separator: ", ") + " use \(scheme)://")
    }
}
