import Foundation

/// Who `doctor` and `test-alert` log in as: explicit options first, then the process
/// environment, then the deployment's `.env` (the same variable names in both).
public struct Credentials: Sendable {
    public var prometheus: BasicAuth?
    public var alertmanager: BasicAuth?
    public var grafana: BasicAuth?
    /// The first origin the collector allows: what a browser on the application sends.
    public var origin: String?

    public struct Explicit: Sendable {
        public var user: String?
        public var password: String?
        public var grafanaUser: String?
        public var grafanaPassword: String?
        public var origin: String?

        public init(user: String? = nil, password: String? = nil, grafanaUser: String? = nil,
                    grafanaPassword: String? = nil, origin: String? = nil) {
            self.user = user
            self.password = password
            self.grafanaUser = grafanaUser
            self.grafanaPassword = grafanaPassword
            self.origin = origin
        }
    }

    public static func resolve(explicit: Explicit, environment: [String: String], dotEnv: [String: String]) -> Credentials {
        func value(_ key: String) -> String? {
            if let value = environment[key], !value.isEmpty { return value }
            if let value = dotEnv[key], !value.isEmpty { return value }
            return nil
        }
        func auth(userKey: String, passwordKey: String) -> BasicAuth? {
            let user = explicit.user ?? value(userKey)
            let password = explicit.password ?? value(passwordKey)
            guard let user, let password else { return nil }
            return BasicAuth(user: user, password: password)
        }
        let accounts = DeploymentContract.edgeAccounts
        var credentials = Credentials()
        credentials.prometheus = auth(userKey: accounts[0].userKey, passwordKey: accounts[0].passwordKey)
        credentials.alertmanager = auth(userKey: accounts[1].userKey, passwordKey: accounts[1].passwordKey)
        let grafanaUser = explicit.grafanaUser ?? value(DeploymentContract.grafanaAdminUserKey)
        let grafanaPassword = explicit.grafanaPassword ?? value(DeploymentContract.grafanaAdminPasswordKey)
        if let grafanaUser, let grafanaPassword {
            credentials.grafana = BasicAuth(user: grafanaUser, password: grafanaPassword)
        }
        credentials.origin = explicit.origin ?? value(DeploymentContract.allowedOriginsKey)?
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty && $0 != "*" }
        return credentials
    }
}
