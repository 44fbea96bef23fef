import Foundation

/// The logger's push endpoint and the collector's allowed origins must agree (written once the .env contract lands).
enum OriginCheck {
    static func check(_ files: DeploymentFiles) -> CheckResult { .skip("logger endpoint and allowed origins", "not written yet") }
}
