import ArgumentParser
import Foundation
import LookoutCLI

/// `lookout init`: secrets, htpasswd files and probe targets for a new deployment.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write .env, the edge's htpasswd files and the probe targets, with strong random secrets.",
        discussion: """
            Never overwrites an existing secret unless --force is given, and never prints one: \
            read them in the .env file. Prints what is left for you to fill in (SMTP, NFS mounts, \
            application URL). With --tls, also a private CA (kept once made) and the edge's \
            certificate for the monitoring host's names, and where to install the CA.
            """
    )

    @Option(help: ArgumentHelp("The application URL to probe (only HTTP 200 counts as up).", valueName: "url"))
    var appURL: String?

    @Option(help: ArgumentHelp("SMTP relay as host:port.", valueName: "host:port"))
    var smtpHost: String?

    @Option(help: ArgumentHelp("SMTP user name.", valueName: "user"))
    var smtpUser: String?

    @Option(help: ArgumentHelp("Who receives alert emails.", valueName: "email"))
    var alertTo: String?

    @Option(help: ArgumentHelp("The deployment folder (holds .env.example).", valueName: "dir"))
    var dir: String = "deploy/monitoring"

    @Flag(help: "Replace existing secrets and htpasswd files with new ones.")
    var force = false

    @Flag(help: "Make a private CA and the edge's TLS certificate (for a private network; renewed when due).")
    var tls = false

    @Option(help: ArgumentHelp("Another name (DNS name or IP) for the edge's certificate; repeatable. The .env's public URLs' hosts are always included.", valueName: "name"))
    var tlsName: [String] = []

    func validate() throws {
        if let appURL {
            guard let url = URL(string: appURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--app-url must be an http(s) URL such as http://application:80, got '\(appURL)'.")
            }
        }
        if let smtpHost {
            let parts = smtpHost.split(separator: ":")
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ValidationError("--smtp-host must be host:port such as smtp.example.com:587, got '\(smtpHost)'.")
            }
        }
        if let alertTo, !alertTo.contains("@") {
            throw ValidationError("--alert-to must be an email address, got '\(alertTo)'.")
        }
        if !tlsName.isEmpty && !tls {
            throw ValidationError("--tls-name needs --tls.")
        }
        for name in tlsName where !Self.isCertificateName(name) {
            throw ValidationError("--tls-name must be a DNS name (letters, digits, '-', '.', optionally starting with '*.') or an IP address, got '\(name)'.")
        }
    }

    func run() throws {
        // Here, not in validate(): a mistyped option must be reported as such first.
        guard FileManager.default.fileExists(atPath: dir + "/.env.example") else {
            throw ValidationError("'\(dir)/.env.example' not found: pass the deployment folder with --dir.")
        }
        let options = Initializer.Options(
            directory: URL(fileURLWithPath: dir), appURL: appURL, smtpHost: smtpHost,
            smtpUser: smtpUser, alertTo: alertTo, force: force, tls: tls, tlsNames: tlsName
        )
        do {
            let summary = try Initializer(options: options).run()
            print(summary.render(), terminator: "")
        } catch let problem as PEMFiles.Problem {
            // A certificate or CA file init will not overwrite: say which and why, no stack of errors.
            FileHandle.standardError.write(Data("lookout init: \(problem.description)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// `monitoring.example.com`, `*.example.com`, `10.0.0.5`, `::1`.
    static func isCertificateName(_ name: String) -> Bool {
        if name.contains(":") { return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let labels = (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name).split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}
