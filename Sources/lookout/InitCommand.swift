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
            application URL).
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
    }

    func run() throws {
        // Here, not in validate(): a mistyped option must be reported as such first.
        guard FileManager.default.fileExists(atPath: dir + "/.env.example") else {
            throw ValidationError("'\(dir)/.env.example' not found: pass the deployment folder with --dir.")
        }
        let options = Initializer.Options(
            directory: URL(fileURLWithPath: dir), appURL: appURL, smtpHost: smtpHost,
            smtpUser: smtpUser, alertTo: alertTo, force: force
        )
        let summary = try Initializer(options: options).run()
        print(summary.render(), terminator: "")
    }
}
