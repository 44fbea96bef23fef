import Foundation
import X509

/// `lookout init --tls`: a private CA (made once, kept for good) and a server certificate for
/// the monitoring host's names in the edge's certificate folder, renewed when it would no
/// longer do. An operator's own certificate in that folder is never replaced without --force.
extension Initializer {
    struct TLSOutcome {
        var actions: [String] = []
        var trust: [String] = []
    }

    /// The folder compose mounts at /etc/nginx/tls (EDGE_TLS_DIR, relative to the deployment folder).
    static func tlsFolder(root: URL, env: DotEnv) -> URL {
        DeploymentFiles(root: root).edgeTLSFolder(env: env.values)
    }

    /// The names clients use for the monitoring host: --tls-name first, then EDGE_TLS_SERVER_NAME
    /// and the hosts of the public URLs in .env; `monitoring-host` when there is nothing else.
    static func tlsNames(explicit: [String], env: DotEnv) -> [String] {
        var names = explicit
        if let server = env[DeploymentContract.edgeServerNameKey], !server.isEmpty { names.append(server) }
        for key in DeploymentContract.publicURLKeys {
            if let host = env[key].flatMap({ URLComponents(string: $0)?.host }), !host.isEmpty { names.append(host) }
        }
        var seen = Set<String>()
        let unique = names.map { $0.lowercased() }.filter { seen.insert($0).inserted }
        return unique.isEmpty ? ["monitoring-host"] : unique
    }

    func writeTLS(env: inout DotEnv) throws -> TLSOutcome {
        var outcome = TLSOutcome()
        let caCertificateURL = root.appendingPathComponent(DeploymentContract.caCertificateFile)
        let caKeyURL = root.appendingPathComponent(DeploymentContract.caKeyFile)
        let folder = Self.tlsFolder(root: root, env: env)
        let certificateURL = folder.appendingPathComponent(DeploymentContract.edgeCertificateFile)
        let keyURL = folder.appendingPathComponent(DeploymentContract.edgeKeyFile)
        let shownFolder = relative(folder)
        var names = Self.tlsNames(explicit: options.tlsNames, env: env)

        // The CA: made once. Replacing it would break the trust every client was given, so not
        // even --force does; delete secrets/ca/ by hand to start over.
        let ca: PrivateCA
        let manager = FileManager.default
        let haveCA = manager.fileExists(atPath: caCertificateURL.path) || manager.fileExists(atPath: caKeyURL.path)
        if !haveCA, !options.force, manager.fileExists(atPath: certificateURL.path) {
            // No CA yet, so whatever certificate is there is someone else's: stop before writing anything.
            throw PEMFiles.Problem("\(relative(certificateURL)) was not issued by the private CA (your own certificate?): kept; pass --force to replace it with one from \(DeploymentContract.caCertificateFile)")
        }
        if haveCA {
            let certificate = try PEMFiles.certificates(at: caCertificateURL, named: DeploymentContract.caCertificateFile)[0]
            let key = try PEMFiles.privateKey(at: caKeyURL, named: DeploymentContract.caKeyFile)
            guard key.publicKey == certificate.publicKey else {
                throw PEMFiles.Problem("\(DeploymentContract.caKeyFile) is not the key of \(DeploymentContract.caCertificateFile); restore the pair, or delete \(DeploymentContract.caFolder)/ to make a new CA (every client must then trust the new one)")
            }
            ca = PrivateCA(certificate: certificate, key: key)
            outcome.actions.append("kept the private CA \(DeploymentContract.caCertificateFile) (valid until \(CertificateFacts.day(certificate.notValidAfter)))")
        } else {
            ca = try PrivateCA.create(name: "Lookout private CA (\(PrivateCA.primaryName(names)))")
            try FileWriter.makeFolder(root.appendingPathComponent(DeploymentContract.caFolder), permissions: 0o700)
            // The key can issue certificates every client of the edge trusts: owner only.
            try FileWriter.write(try ca.key.serializeAsPEM().pemString + "\n", to: caKeyURL, permissions: 0o600)
            try FileWriter.write(try ca.certificate.serializeAsPEM().pemString + "\n", to: caCertificateURL, permissions: 0o644)
            outcome.actions.append("wrote a new private CA: \(DeploymentContract.caCertificateFile) (to trust; valid until \(CertificateFacts.day(ca.certificate.notValidAfter))) and its key \(DeploymentContract.caKeyFile) (mode 600, never leaves this host)")
        }

        // A renewal keeps the names the current certificate has (e.g. an earlier --tls-name).
        if let current = try? PEMFiles.certificates(at: certificateURL, named: "")[0], ca.signed(current) {
            names += CertificateFacts.names(of: current).map { $0.lowercased() }.filter { !names.contains($0) }
        }
        if let reason = try reissueReason(ca: ca, certificateURL: certificateURL, keyURL: keyURL, names: names) {
            let (certificate, key) = try ca.issue(names: names)
            try FileWriter.makeFolder(folder, permissions: 0o700)
            // nginx's master process reads both as root before it starts its workers.
            try FileWriter.write(try key.serializeAsPEM().pemString + "\n", to: keyURL, permissions: 0o600)
            try FileWriter.write(try certificate.serializeAsPEM().pemString + "\n", to: certificateURL, permissions: 0o644)
            outcome.actions.append("wrote \(shownFolder)/\(DeploymentContract.edgeCertificateFile) and \(DeploymentContract.edgeKeyFile) (\(reason); for \(names.joined(separator: ", ")); valid until \(CertificateFacts.day(certificate.notValidAfter)); a running edge reloads it within a minute)")
        } else {
            outcome.actions.append("kept \(shownFolder)/\(DeploymentContract.edgeCertificateFile) (from the private CA, for \(names.joined(separator: ", ")), more than \(PrivateCA.renewalDays) days left)")
        }

        if env[DeploymentContract.edgeSchemeKey] != DeploymentContract.defaultEdgeScheme {
            env[DeploymentContract.edgeSchemeKey] = DeploymentContract.defaultEdgeScheme
            outcome.actions.append("set \(DeploymentContract.edgeSchemeKey)=https in .env")
        }
        outcome.trust = trustSteps(caPath: caCertificateURL.path)
        return outcome
    }

    /// Why the server certificate must be (re)issued, or nil to keep it. Throws when the folder
    /// holds a certificate the private CA did not issue (the operator's own) and --force is not given.
    func reissueReason(ca: PrivateCA, certificateURL: URL, keyURL: URL, names: [String]) throws -> String? {
        let shown = relative(certificateURL)
        guard FileManager.default.fileExists(atPath: certificateURL.path) else { return "new" }
        guard let certificate = try? PEMFiles.certificates(at: certificateURL, named: shown)[0] else {
            if options.force { return "replaced an unreadable file (--force)" }
            throw PEMFiles.Problem("\(shown) exists but is not a readable certificate: fix or remove it, or pass --force to replace it")
        }
        guard ca.signed(certificate) else {
            if options.force { return "replaced a certificate from another CA (--force)" }
            throw PEMFiles.Problem("\(shown) was not issued by the private CA (your own certificate?): kept; pass --force to replace it with one from \(DeploymentContract.caCertificateFile)")
        }
        if options.force { return "renewed (--force)" }
        guard let key = try? PEMFiles.privateKey(at: keyURL, named: relative(keyURL)), key.publicKey == certificate.publicKey else {
            return "renewed: \(relative(keyURL)) missing or not its key"
        }
        if let missing = names.first(where: { !CertificateFacts.covers(certificate, host: $0) }) {
            return "renewed: \(missing) was not among its names"
        }
        if CertificateFacts.daysLeft(certificate) < PrivateCA.renewalDays { return "renewed: it expires within \(PrivateCA.renewalDays) days" }
        return nil
    }

    /// Where the CA goes so that every client of the edge verifies its certificate.
    func trustSteps(caPath: String) -> [String] {
        [
            "The private CA is \(caPath). Every client of the edge must trust it:",
            "application host, Promtail: copy it to ./tls/lookout-ca.crt beside the application's docker-compose.yml and set PROMTAIL_CA_FILE=/etc/lookout/tls/lookout-ca.crt in its .env",
            "the Docker loki driver (both hosts) reads only files inside the plugin: sudo install -D -m 644 lookout-ca.crt /var/lib/docker/plugins/$(docker plugin inspect --format '{{.Id}}' loki)/rootfs/etc/lookout/lookout-ca.crt, then LOKI_DRIVER_CA_FILE=/etc/lookout/lookout-ca.crt in each host's .env and docker compose up -d (again after upgrading the plugin)",
            "browsers (Grafana, and logger.js on the application's pages): add it to the system trust store (Debian/Ubuntu: sudo cp lookout-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates; macOS: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain lookout-ca.crt; Windows: certutil -addstore -f ROOT lookout-ca.crt). Visitors whose browsers do not trust it send no frontend events: a public site needs a public (ACME) certificate (docs/operations.md, TLS)",
            "lookout doctor and test-alert trust it by themselves when run with --env-file pointing at this folder's .env (or pass --ca-file)",
        ]
    }

    func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path, prefix = root.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
