import Foundation

/// `amtool check-config`. Alertmanager expands no environment variables, so the deployment
/// ships a template (`alertmanager.yml.in`) that `render-and-run.sh` fills from the
/// environment when the container starts. To check what Alertmanager will really load, the
/// same script renders it here, with the alertmanager service's compose environment.
enum AlertmanagerConfigCheck {
    static let name = "amtool check-config"
    static let renderScript = "alertmanager/render-and-run.sh"

    static func run(_ files: DeploymentFiles, amtool: String?, env: [String: String]) -> CheckResult {
        if let config = files.alertmanagerConfig {
            return ToolChecks.run(name, tool: amtool, toolName: "amtool", arguments: ["check-config", files.relative(config)],
                                  in: files.root, hint: "fix \(files.relative(config))")
        }
        let script = files.root.appendingPathComponent(renderScript)
        guard FileManager.default.fileExists(atPath: script.path) else {
            return .fail(name, "no Alertmanager config (YAML with route, or a template and \(renderScript)) under alertmanager/",
                         hint: "add alertmanager/alertmanager.yml")
        }
        guard let amtool else { return .skip(name, "amtool is not installed") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-am-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            var environment = renderEnvironment(files, env: env)
            environment["LOOKOUT_AM_RENDER_DIR"] = scratch.appendingPathComponent("rendered").path
            environment["LOOKOUT_AM_SOURCE_DIR"] = script.deletingLastPathComponent().path
            // The container reads the compose secret; here the file next to it, or a stand-in
            // (the password's value does not affect validity).
            let password = files.root.appendingPathComponent(DeploymentContract.smtpPasswordFile)
            if FileManager.default.fileExists(atPath: password.path) {
                environment["SMTP_AUTH_PASSWORD_FILE"] = password.path
            } else {
                let standIn = scratch.appendingPathComponent("smtp_password")
                try Data("stand-in\n".utf8).write(to: standIn)
                environment["SMTP_AUTH_PASSWORD_FILE"] = standIn.path
            }
            let render = try ProcessRunner.run("/bin/sh", [script.path, "--render-only"], in: files.root, environment: environment)
            guard render.exitCode == 0, let rendered = render.output.split(separator: "\n").last.map(String.init),
                  FileManager.default.fileExists(atPath: rendered) else {
                let message = render.output.split(separator: "\n").suffix(3).joined(separator: " | ")
                return .fail(name, "rendering the template failed: \(message)",
                             hint: "set the SMTP and link variables in .env (see .env.example)")
            }
            let check = try ProcessRunner.run(amtool, ["check-config", rendered])
            guard check.exitCode == 0 else {
                let message = check.output.split(separator: "\n").suffix(3).joined(separator: " | ")
                return .fail(name, "rendered config invalid: \(message)", hint: "fix alertmanager/alertmanager.yml.in or the .env values it uses")
            }
            return .pass(name, "template rendered with .env and accepted by amtool")
        } catch {
            return .fail(name, "could not render/check: \(error)", hint: "check that /bin/sh and amtool work")
        }
    }

    /// The alertmanager service's `environment:` from docker-compose.yml, interpolated with
    /// .env, over the .env values themselves (so a template variable set either way is found).
    static func renderEnvironment(_ files: DeploymentFiles, env: [String: String]) -> [String: String] {
        var result = env
        guard let compose = try? DeploymentFiles.loadYAML(files.compose) as? [String: Any],
              let services = compose["services"] as? [String: Any],
              let (_, service) = ComposeFile.service(in: services, named: "alertmanager", image: "prom/alertmanager") else {
            return result
        }
        for (key, value) in ComposeFile.environment(service) {
            result[key] = ComposeFile.interpolate(value, env: env)
        }
        return result
    }
}
