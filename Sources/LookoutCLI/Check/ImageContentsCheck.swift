import Foundation

/// What each image of the deployment ships (images.yml beside docker-compose.yml, read from the
/// images' upstream Dockerfiles: docs/images.md). A healthcheck runs inside its image with
/// nothing else, and a check that can never pass keeps every `service_healthy` dependant from
/// starting: in a distroless image, `CMD-SHELL wget …` is half a stack that never comes up.
struct ImageContents: Sendable {
    var reference: String
    var programs: [String]
    var toolset: [String]

    static let pathDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// A command word: a name looked up on PATH, or an absolute path.
    func has(_ command: String) -> Bool {
        let url = URL(fileURLWithPath: command)
        if command.hasPrefix("/") {
            return programs.contains(command)
                || (["/bin", "/usr/bin"].contains(url.deletingLastPathComponent().path) && toolset.contains(url.lastPathComponent))
        }
        return toolset.contains(command) || programs.contains { program in
            let p = URL(fileURLWithPath: program)
            return p.lastPathComponent == command && Self.pathDirectories.contains(p.deletingLastPathComponent().path)
        }
    }

    /// What `test` (a compose healthcheck test, or an exec-form command) runs that this image
    /// does not ship. `CMD-SHELL` needs /bin/sh; bash's /dev/tcp needs bash.
    func problems(_ test: [String]) -> [String] {
        guard let first = test.first else { return [] }
        let (kind, argv) = ["CMD", "CMD-SHELL"].contains(first) ? (first, Array(test.dropFirst())) : ("CMD", test)
        var needed: [String]
        var script: String?
        if kind == "CMD-SHELL" {
            script = argv.joined(separator: " ")
            needed = ["/bin/sh"] + ShellCommands.commands(script!)
        } else if argv.count >= 3, ["sh", "bash", "ash", "dash"].contains(URL(fileURLWithPath: argv[0]).lastPathComponent), argv[1] == "-c" {
            script = argv[2]
            needed = [argv[0]] + ShellCommands.commands(argv[2])
        } else {
            needed = Array(argv.prefix(1))
        }
        var found = needed.filter { !has($0) }.map { "\($0) is not in \(reference)" }
        if let script, script.contains("/dev/tcp/"), let shell = needed.first, URL(fileURLWithPath: shell).lastPathComponent != "bash" {
            found.append("/dev/tcp needs bash, but the script runs under \(shell)")
        }
        return found
    }
}

enum ImageContentsCheck {
    static let name = "healthchecks use only what their image ships"

    /// images.yml: `toolsets:` (name → commands) and `images:` (reference → base, toolset, programs).
    static func load(_ url: URL) throws -> [String: ImageContents] {
        guard let document = try DeploymentFiles.loadYAML(url) as? [String: Any] else { return [:] }
        let toolsets = document["toolsets"] as? [String: [Any]] ?? [:]
        var found: [String: ImageContents] = [:]
        for (reference, value) in document["images"] as? [String: Any] ?? [:] {
            let entry = value as? [String: Any] ?? [:]
            let toolset = (entry["toolset"] as? String).flatMap { toolsets[$0] }?.map { "\($0)" } ?? []
            found[reference] = ImageContents(reference: reference, programs: (entry["programs"] as? [Any] ?? []).map { "\($0)" },
                                             toolset: toolset)
        }
        return found
    }

    static func check(_ files: DeploymentFiles, env: [String: String]) -> CheckResult {
        let manifest = files.root.appendingPathComponent("images.yml")
        guard FileManager.default.fileExists(atPath: manifest.path) else {
            return .skip(name, "no images.yml beside docker-compose.yml: what the images ship is unknown")
        }
        guard let known = try? load(manifest), !known.isEmpty else {
            return .fail(name, "images.yml has no `images:`", hint: "restore images.yml from deploy/monitoring (docs/images.md)")
        }
        guard let compose = try? DeploymentFiles.loadYAML(files.compose) as? [String: Any],
              let services = compose["services"] as? [String: Any] else {
            return .fail(name, "cannot read services from docker-compose.yml", hint: "fix docker-compose.yml (see `docker-compose config`)")
        }
        var problems: [String] = []
        var checked = 0
        for (serviceName, value) in services.sorted(by: { $0.key < $1.key }) {
            guard let service = value as? [String: Any] else { continue }
            let image = ComposeFile.interpolate(service["image"] as? String ?? "", env: env)
            // An image we build has no fixed tag: images.yml names it without one.
            guard let contents = known[image] ?? (service["build"] != nil ? known[String(image.split(separator: ":").first ?? "")] : nil) else {
                if service["healthcheck"] != nil || service["entrypoint"] != nil {
                    problems.append("\(serviceName): \(image.isEmpty ? "its image" : image) is not described in images.yml")
                }
                continue
            }
            if let test = healthcheckTest(service), test.first != "NONE" {
                checked += 1
                problems += contents.problems(test).map { "\(serviceName): healthcheck: \($0)" }
            }
            if let entrypoint = service["entrypoint"] as? [Any], !entrypoint.isEmpty {
                checked += 1
                problems += contents.problems(entrypoint.map { "\($0)" }).map { "\(serviceName): entrypoint: \($0)" }
            }
        }
        guard problems.isEmpty else {
            return .fail(name, problems.joined(separator: "; "),
                         hint: "call only programs images.yml lists for that image (docs/images.md): for Loki `[\"CMD\", \"/usr/bin/loki\", \"-health\"]`; "
                             + "without curl or wget, bash's /dev/tcp; after changing a tag, read its Dockerfile and update images.yml")
        }
        return .pass(name, "\(checked) healthchecks and entrypoints, each against its image")
    }

    static func healthcheckTest(_ service: [String: Any]) -> [String]? {
        let test = (service["healthcheck"] as? [String: Any])?["test"]
        if let text = test as? String { return ["CMD-SHELL", text] }
        return (test as? [Any])?.map { "\($0)" }
    }
}
