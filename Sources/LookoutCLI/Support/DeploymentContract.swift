/// Names shared with deploy/monitoring (.env.example, secrets/README.md, the edge config).
/// Change them here and there together.
public enum DeploymentContract {
    /// One basic-auth account of the edge nginx: who logs in where, and the htpasswd file nginx reads.
    public struct EdgeAccount: Sendable {
        public var purpose: String
        public var userKey: String
        public var passwordKey: String
        /// The user name written when .env has none.
        public var defaultUser: String
        /// Relative to the deployment folder.
        public var htpasswdFile: String
    }

    public static let edgeAccounts: [EdgeAccount] = [
        EdgeAccount(purpose: "Prometheus (:9090)", userKey: "PROMETHEUS_USER", passwordKey: "PROMETHEUS_PASSWORD",
                    defaultUser: "admin", htpasswdFile: "secrets/edge/prometheus.htpasswd"),
        EdgeAccount(purpose: "Alertmanager (:9093)", userKey: "ALERTMANAGER_USER", passwordKey: "ALERTMANAGER_PASSWORD",
                    defaultUser: "admin", htpasswdFile: "secrets/edge/alertmanager.htpasswd"),
        EdgeAccount(purpose: "log agents pushing to :3100", userKey: "LOKI_PUSH_USER", passwordKey: "LOKI_PUSH_PASSWORD",
                    defaultUser: "agent", htpasswdFile: "secrets/edge/agents.htpasswd"),
    ]
    /// Edge logins that compose itself does not need (nginx reads only the htpasswd files) and
    /// that .env.example may therefore lack; init adds them so the operator and `doctor` find them.
    public static let prometheusAccount = edgeAccounts[0]
    public static let alertmanagerAccount = edgeAccounts[1]
    public static let agentsAccount = edgeAccounts[2]

    public static let grafanaAdminUserKey = "GRAFANA_ADMIN_USER"
    public static let grafanaAdminPasswordKey = "GRAFANA_ADMIN_PASSWORD"
    /// GF_SECURITY_COOKIE_SECURE: true behind TLS (compose's default), false for a plain-HTTP lab.
    public static let grafanaCookieSecureKey = "GRAFANA_COOKIE_SECURE"

    public static let smtpSmarthostKey = "SMTP_SMARTHOST"
    public static let smtpUserKey = "SMTP_AUTH_USERNAME"
    public static let alertToKey = "ALERT_EMAIL_TO"
    /// The public URL browsers load logger.js from and push to (e.g. https://monitoring-host:3100/loki/api/v1/push).
    public static let loggerEndpointKey = "LOOKOUT_PUBLIC_PUSH_URL"
    /// Comma-separated origins the collector grants CORS to (the application's origin).
    public static let allowedOriginsKey = "LOOKOUT_ALLOWED_ORIGINS"

    /// TLS at the edge: `https` (default) or `http` (a private lab only), as run-edge.sh reads it.
    public static let edgeSchemeKey = "EDGE_SCHEME"
    public static let defaultEdgeScheme = "https"
    /// The certificate folder compose mounts at /etc/nginx/tls (relative to the deployment folder).
    public static let edgeTLSDirKey = "EDGE_TLS_DIR"
    public static let defaultEdgeTLSDir = "./secrets/tls"
    /// The file names edge/tls.conf reads from that folder.
    public static let edgeCertificateFile = "fullchain.pem"
    public static let edgeKeyFile = "privkey.pem"
    /// The name the Docker driver on the monitoring host checks the certificate against.
    public static let edgeServerNameKey = "EDGE_TLS_SERVER_NAME"
    /// The public URLs whose hosts the certificate must name and whose scheme must be the edge's.
    public static let publicURLKeys = ["GRAFANA_ROOT_URL", "PROMETHEUS_EXTERNAL_URL", "ALERTMANAGER_EXTERNAL_URL", "LOOKOUT_PUBLIC_PUSH_URL"]
    /// `lookout init --tls`'s private CA: never mounted into a container.
    public static let caFolder = "secrets/ca"
    public static let caCertificateFile = "secrets/ca/lookout-ca.crt"
    public static let caKeyFile = "secrets/ca/lookout-ca.key"

    public static let probeTargetsFile = "prometheus/targets/http-probes.yml"
    /// Where Alertmanager sends the always-firing LookoutWatchdog (empty: no heartbeat).
    public static let heartbeatURLKey = "HEARTBEAT_URL"
    public static let smtpPasswordFile = "secrets/smtp_password"
    /// secrets/ keeps other local users out (0700); secrets/edge must be traversable by the
    /// containers' unprivileged users (see deploy/monitoring/secrets/README.md).
    public static let secretsFolder = "secrets"
    public static let edgeSecretsFolder = "secrets/edge"
    /// The value the prompt gives for the SMTP password (user:pass); a placeholder, not a secret.
    public static let smtpPasswordPlaceholder = "pass"
    public static let defaultAppURL = "http://application:80"
    public static let defaultSite = "application"
}
