import Foundation

/// `nginx -t` on the edge config (replaced once the edge layout is known).
enum NginxCheck {
    static func run(_ files: DeploymentFiles, nginx: String?) -> CheckResult {
        let name = "nginx -t (edge)"
        guard let nginx else { return .skip(name, "nginx is not installed") }
        guard let config = files.edgeNginxConfig else {
            return .fail(name, "no nginx config with an http block under edge/", hint: "add edge/nginx.conf")
        }
        return ToolChecks.run(name, tool: nginx, toolName: "nginx", arguments: ["-t", "-c", config.path], in: files.root,
                              hint: "fix \(files.relative(config))")
    }
}
