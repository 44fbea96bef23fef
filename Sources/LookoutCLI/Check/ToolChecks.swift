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

    /// Runs one tool and turns its exit code into a check line; the last distinct lines of its
    /// output are the detail. `files`: the deployment files the message may name; the first one
    /// it names is what the hint tells the operator to fix.
    static func run(_ name: String, tool: String?, toolName: String, arguments: [String], in directory: URL,
                    environment: [String: String]? = nil, files: [String] = [], hint: String) -> CheckResult {
        guard let tool else {
            return .skip(name, "\(toolName) is not installed")
        }
        do {
            let result = try ProcessRunner.run(tool, arguments, in: directory, environment: environment)
            if result.exitCode == 0 {
                return .pass(name, "`\(([toolName] + arguments).joined(separator: " "))` passed")
            }
            var seen = Set<String>()
            let lines = result.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && seen.insert($0).inserted }
            // promtool's messages start with the file they are about: "rules/x.yml: 12:15: …".
            let errors = lines.filter { line in files.contains { line.hasPrefix($0 + ":") } }
            let detail = errors.isEmpty ? lines.suffix(4).joined(separator: " | ") : errors.prefix(3).joined(separator: " | ")
            let named = files.first { file in errors.contains { $0.hasPrefix(file + ":") } }
            return .fail(name, "exit \(result.exitCode): \(detail)",
                         hint: named.map { "fix \($0) (the message gives the line and column)" } ?? hint)
        } catch {
            return .fail(name, "could not run \(tool): \(error)", hint: "check that \(toolName) works")
        }
    }

    /// A check that failed only because it loads a rule file `promtool check rules` already
    /// refused: one ✗ for one mistake, not one per tool that reads the file.
    static func sameError(_ result: CheckResult, as rules: CheckResult, ruleFiles: [String]) -> CheckResult {
        guard result.status == .fail, rules.status == .fail,
              let file = ruleFiles.first(where: { rules.detail.contains($0) && result.detail.contains($0) }) else { return result }
        return .skip(result.name, "not judged: it loads \(file), which promtool check rules refuses")
    }

    /// promtool check config also reads the file_sd target lists (targets/http-probes.yml for
    /// the site, targets/api-probes.yml for its API) and names the one it refuses: the hint
    /// then points at that list, not at prometheus.yml.
    static func targetListHint(_ result: CheckResult) -> CheckResult {
        let prefix = "checking SD file \""
        guard result.status == .fail,
              let range = result.detail.range(of: prefix + #"[^"]+""#, options: .regularExpression) else { return result }
        let file = result.detail[range].dropFirst(prefix.count).dropLast()
        var copy = result
        copy.hint = "fix \(file): a YAML list of `- targets: [<url>, ...]` with `labels:` (site, optionally module)"
        return copy
    }

    static func all(_ files: DeploymentFiles, tools: Tools, composeEnvFile: URL?, env: [String: String]) -> [CheckResult] {
        var results: [CheckResult] = []
        let root = files.root

        // The rule files first: the config check and the unit tests load them too.
        let rules = files.prometheusRuleFiles.map(files.relative)
        let checkRules: CheckResult = rules.isEmpty
            ? .fail("promtool check rules", "no rule files under prometheus/", hint: "add the alert rules")
            : run("promtool check rules", tool: tools.promtool, toolName: "promtool", arguments: ["check", "rules"] + rules,
                  in: root, files: rules, hint: "fix the rule file named above")
        results.append(checkRules)

        if let config = files.prometheusConfig {
            let checked = run("promtool check config", tool: tools.promtool, toolName: "promtool",
                              arguments: ["check", "config", files.relative(config)], in: root, files: rules,
                              hint: "fix \(files.relative(config)) (run the command above for the full message)")
            results.append(sameError(targetListHint(checked), as: checkRules, ruleFiles: rules))
        } else {
            results.append(.fail("promtool check config", "no Prometheus config (YAML with scrape_configs) under prometheus/",
                                 hint: "add prometheus/prometheus.yml"))
        }

        let tests = files.prometheusRuleTests
        if tests.isEmpty {
            results.append(.fail("promtool test rules", "no rule unit tests under prometheus/", hint: "add a promtool test file next to each rule file"))
        } else {
            let tested = run("promtool test rules", tool: tools.promtool, toolName: "promtool",
                             arguments: ["test", "rules"] + tests.map(files.relative), in: root, files: rules,
                             hint: "a rule no longer behaves as its unit test expects: fix the rule or the test")
            results.append(sameError(tested, as: checkRules, ruleFiles: rules))
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
