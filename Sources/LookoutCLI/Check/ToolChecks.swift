import Foundation

/// The real validators, run when installed: they know their own formats better than we do.
enum ToolChecks {
    /// Which binary answers to each tool name (Debian names first, upstream names as fallback).
    struct Tools: Sendable {
        var promtool: String?
        var amtool: String?
        var dockerCompose: String?
        var nginx: String?

        static func onPath(_ path: String? = ProcessInfo.processInfo.environment["PATH"]) -> Tools {
            // nginx lives in /usr/sbin, which a non-root PATH often lacks.
            let withSbin = [path ?? "", "/usr/sbin", "/usr/local/sbin"].joined(separator: ":")
            return Tools(
                promtool: ProcessRunner.which("promtool", path: path),
                amtool: ProcessRunner.which("amtool", path: path),
                dockerCompose: ProcessRunner.which("docker-compose", path: path),
                nginx: ProcessRunner.which("nginx", path: withSbin)
            )
        }
    }

    /// Runs one tool and turns its exit code into a check line; the last lines of its output are the hint.
    static func run(_ name: String, tool: String?, toolName: String, arguments: [String], in directory: URL,
                    environment: [String: String]? = nil, hint: String) -> CheckResult {
        guard let tool else {
            return .skip(name, "\(toolName) is not installed")
        }
        do {
            let result = try ProcessRunner.run(tool, arguments, in: directory, environment: environment)
            let output = result.output.split(separator: "\n").map(String.init)
            if result.exitCode == 0 {
                return .pass(name, "`\(([toolName] + arguments).joined(separator: " "))` passed")
            }
            let tail = output.suffix(4).joined(separator: " | ")
            return .fail(name, "exit \(result.exitCode): \(tail)", hint: hint)
        } catch {
            return .fail(name, "could not run \(tool): \(error)", hint: "check that \(toolName) works")
        }
    }

    static func all(_ files: DeploymentFiles, tools: Tools, composeEnvFile: URL?, env: [String: String]) -> [CheckResult] {
        var results: [CheckResult] = []
        let root = files.root

        if let config = files.prometheusConfig {
            results.append(run("promtool check config", tool: tools.promtool, toolName: "promtool",
                               arguments: ["check", "config", files.relative(config)], in: root,
                               hint: "fix \(files.relative(config)) (run the command above for the full message)"))
        } else {
            results.append(.fail("promtool check config", "no Prometheus config (YAML with scrape_configs) under prometheus/",
                                 hint: "add prometheus/prometheus.yml"))
        }

        let rules = files.prometheusRuleFiles
        if rules.isEmpty {
            results.append(.fail("promtool check rules", "no rule files under prometheus/", hint: "add the alert rules"))
        } else {
            results.append(run("promtool check rules", tool: tools.promtool, toolName: "promtool",
                               arguments: ["check", "rules"] + rules.map(files.relative), in: root,
                               hint: "fix the rule file named above"))
        }

        let tests = files.prometheusRuleTests
        if tests.isEmpty {
            results.append(.fail("promtool test rules", "no rule unit tests under prometheus/", hint: "add a promtool test file next to each rule file"))
        } else {
            results.append(run("promtool test rules", tool: tools.promtool, toolName: "promtool",
                               arguments: ["test", "rules"] + tests.map(files.relative), in: root,
                               hint: "a rule no longer behaves as its unit test expects: fix the rule or the test"))
        }

        results.append(AlertmanagerConfigCheck.run(files, amtool: tools.amtool, env: env))

        if FileManager.default.fileExists(atPath: files.compose.path) {
            var arguments = ["--project-directory", root.path, "-f", files.compose.path]
            if let composeEnvFile { arguments += ["--env-file", composeEnvFile.path] }
            arguments += ["config", "-q"]
            results.append(run("docker-compose config", tool: tools.dockerCompose, toolName: "docker-compose",
                               arguments: arguments, in: root,
                               hint: "fix docker-compose.yml or the .env values it uses"))
        } else {
            results.append(.fail("docker-compose config", "docker-compose.yml not found in \(root.path)",
                                 hint: "run lookout check on the deploy/monitoring folder"))
        }

        results.append(NginxCheck.run(files, nginx: tools.nginx, env: env))
        return results
    }
}
