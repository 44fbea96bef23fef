import ArgumentParser
import Foundation
import LookoutCLI

/// How `doctor` and `test-alert` find the edge's credentials.
struct LoginOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Edge basic-auth user for Prometheus/Alertmanager (default: PROMETHEUS_USER / ALERTMANAGER_USER from the environment or --env-file).", valueName: "user"))
    var user: String?

    @Option(help: ArgumentHelp("Edge basic-auth password (prefer the environment or --env-file: options show up in `ps`).", valueName: "password"))
    var password: String?

    @Option(help: ArgumentHelp("The deployment's .env to read credentials and origins from.", valueName: "path"))
    var envFile: String = "deploy/monitoring/.env"

    @Option(help: ArgumentHelp("A CA certificate to trust for the edge besides the system's (default: secrets/ca/lookout-ca.crt beside --env-file, when it exists).", valueName: "path"))
    var caFile: String?

    func validate() throws {
        if (user == nil) != (password == nil) {
            throw ValidationError("--user and --password go together.")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("--ca-file '\(caFile)' does not exist or cannot be read.")
        }
    }

    /// --ca-file, else the private CA `lookout init --tls` keeps next to the deployment's .env.
    var trustedCAFile: String? {
        if let caFile { return caFile }
        let beside = URL(fileURLWithPath: envFile).deletingLastPathComponent().appendingPathComponent(DeploymentContract.caCertificateFile).path
        return FileManager.default.isReadableFile(atPath: beside) ? beside : nil
    }

    /// The deployment's .env; a missing one is fine: everything can come from options or the environment.
    var dotEnv: [String: String] { (try? DotEnv(contentsOf: URL(fileURLWithPath: envFile)).values) ?? [:] }

    func resolve(grafanaUser: String? = nil, grafanaPassword: String? = nil, origin: String? = nil) -> Credentials {
        Credentials.resolve(
            explicit: .init(user: user, password: password, grafanaUser: grafanaUser, grafanaPassword: grafanaPassword, origin: origin),
            environment: ProcessInfo.processInfo.environment, dotEnv: dotEnv
        )
    }
}

extension DoctorOptions.LogsVia: ExpressibleByArgument {}

/// `lookout doctor`: live end-to-end checks of a running stack, through the edge.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a running stack end to end through the edge, one line per check.",
        discussion: """
            Checks each component is ready, Prometheus targets are up and the application probe \
            succeeds, logs from every source reached Loki recently (Loki's API is not published: \
            it is queried through Grafana's datasource proxy, or with --logs-via prometheus through \
            the loki:log_lines:rate5m series), /logger.js and the CORS preflight, a browser-like \
            test push, the nginx:* recording rules, Alertmanager's SMTP settings and the five \
            dashboards, and that Loki's query API and anonymous access to Prometheus and \
            Alertmanager stay shut. With https:// it verifies the edge's certificate (and reports \
            the days until it expires), that plain HTTP is refused and HSTS. Exits 1 when any \
            check fails.
            """
    )

    @Option(help: ArgumentHelp("The monitoring host as browsers and agents reach it; ports 3000, 3100, 9090, 9093 are derived from it.", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("Override the Grafana/logger.js door (default: URL with port 3000).", valueName: "url"))
    var grafanaURL: String?

    @Option(help: ArgumentHelp("Override the push door (default: URL with port 3100).", valueName: "url"))
    var pushURL: String?

    @Option(help: ArgumentHelp("Override the Prometheus door (default: URL with port 9090).", valueName: "url"))
    var prometheusURL: String?

    @Option(help: ArgumentHelp("Override the Alertmanager door (default: URL with port 9093).", valueName: "url"))
    var alertmanagerURL: String?

    @OptionGroup var login: LoginOptions

    @Option(help: ArgumentHelp("Grafana admin user (default: GRAFANA_ADMIN_USER).", valueName: "user"))
    var grafanaUser: String?

    @Option(help: ArgumentHelp("Grafana admin password (default: GRAFANA_ADMIN_PASSWORD).", valueName: "password"))
    var grafanaPassword: String?

    @Option(help: ArgumentHelp("The application's origin for the CORS and push checks (default: first of LOOKOUT_ALLOWED_ORIGINS).", valueName: "origin"))
    var origin: String?

    @Option(help: ArgumentHelp("How far back to look for log lines (e.g. 15m, 1h).", valueName: "duration"))
    var since: String = "15m"

    @Option(help: ArgumentHelp("Where to count log lines: grafana (Loki via Grafana's datasource proxy) or prometheus (loki:log_lines:rate5m).", valueName: "grafana|prometheus"))
    var logsVia: DoctorOptions.LogsVia = .grafana

    @Flag(help: "Do not send the browser-like test push (it adds one line with kind=doctor to Loki).")
    var noTestPush = false

    @Option(help: ArgumentHelp("Seconds to wait for each answer.", valueName: "seconds"))
    var timeout: Int64 = 10

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        for (flag, value) in [("--url", url), ("--grafana-url", grafanaURL), ("--push-url", pushURL),
                              ("--prometheus-url", prometheusURL), ("--alertmanager-url", alertmanagerURL)] {
            guard let value else { continue }
            guard let parsed = URL(string: value), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("\(flag) must be an http(s) URL such as http://monitoring-host, got '\(value)'.")
            }
        }
        guard let seconds = PromDuration.seconds(since), seconds >= 60 else {
            throw ValidationError("--since must be a duration of at least 1m such as 15m or 1h, got '\(since)'.")
        }
        if let origin, URL(string: origin)?.host == nil || URL(string: origin)?.path.isEmpty == false {
            throw ValidationError("--origin must be scheme://host[:port] without a path, got '\(origin)'.")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive.") }
        if (grafanaUser == nil) != (grafanaPassword == nil) {
            throw ValidationError("--grafana-user and --grafana-password go together.")
        }
    }

    func run() async throws {
        let credentials = login.resolve(grafanaUser: grafanaUser, grafanaPassword: grafanaPassword, origin: origin)
        let options = DoctorOptions(
            baseURL: url, grafanaURL: grafanaURL, pushURL: pushURL, prometheusURL: prometheusURL,
            alertmanagerURL: alertmanagerURL, prometheusAuth: credentials.prometheus,
            alertmanagerAuth: credentials.alertmanager, grafanaAuth: credentials.grafana,
            origin: credentials.origin, sinceSeconds: Int(PromDuration.seconds(since) ?? 900),
            logsVia: logsVia, sendTestPush: !noTestPush, timeoutSeconds: timeout, caFile: login.trustedCAFile,
            runtime: Runtime.from(login.dotEnv.merging(ProcessInfo.processInfo.environment) { $1 })
        )
        let report = await Doctor(options: options).run()
        print(json ? try report.renderJSON() : report.renderText(), terminator: "")
        if !report.succeeded { throw ExitCode.failure }
    }
}
