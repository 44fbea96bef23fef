import Foundation

/// No placeholder or default secret may reach a running stack (written once the .env contract lands).
enum SecretsCheck {
    static func all(_ files: DeploymentFiles) -> [CheckResult] { [] }
}
