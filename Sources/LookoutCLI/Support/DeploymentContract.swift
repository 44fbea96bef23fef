/// Names shared with deploy/monitoring (.env.example, secrets/README.md, the edge config).
/// Change them here and there together.
public enum DeploymentContract {
    /// One basic-auth account of the edge nginx: who logs in where, and the htpasswd file nginx reads.
    public struct EdgeAccount: Sendable {
        public var purpose: String
        public var userKey: String
        public var passwordKey: String
        /// Relative to the deployment folder.
        public var htpasswdFile: String
    }

    public static let edgeAccounts: [EdgeAccount] = [
        EdgeAccount(purpose: "Prometheus (:9090)", userKey: "PROMETHEUS_USER", passwordKey: "PROMETHEUS_PASSWORD",
                    htpasswdFile: "secrets/prometheus.htpasswd"),
        EdgeAccount(purpose: "Alertmanager (:9093)", userKey: "ALERTMANAGER_USER", passwordKey: "ALERTMANAGER_PASSWORD",
                    htpasswdFile: "secrets/alertmanager.htpasswd"),
        EdgeAccount(purpose: "log agents pushing to :3100", userKey: "LOKI_PUSH_USER", passwordKey: "LOKI_PUSH_PASSWORD",
                    htpasswdFile: "secrets/loki-push.htpasswd"),
    ]

    public static let grafanaAdminUserKey = "GRAFANA_ADMIN_USER"
    public static let grafanaAdminPasswordKey = "GRAFANA_ADMIN_PASSWORD"

    /// The application URL the blackbox probes (also in the probe targets file).
    public static let appURLKey = "APP_URL"
    public static let smtpSmarthostKey = "SMTP_SMARTHOST"
    public static let smtpUserKey = "SMTP_USER"
    public static let alertToKey = "ALERT_EMAIL_TO"
    /// The public URL browsers load logger.js from and push to (e.g. http://monitoring-host:3100/loki/api/v1/push).
    public static let loggerEndpointKey = "LOGGER_PUSH_URL"
    /// Comma-separated origins the collector grants CORS to (the application's origin).
    public static let allowedOriginsKey = "COLLECTOR_ALLOWED_ORIGINS"

    public static let probeTargetsFile = "prometheus/targets/http-probes.yml"
    public static let smtpPasswordFile = "secrets/smtp_password"
    /// The value the prompt gives for the SMTP password (user:pass); a placeholder, not a secret.
    public static let smtpPasswordPlaceholder = "pass"
    public static let defaultAppURL = "http://application:80"
    public static let defaultSite = "application"
}
