import Foundation

/// Settings that decide whether Loki 3.7 starts at all, and whether it can write what it must,
/// measured on the real 3.7.6 binary (shared/notes and docs/logs.md): the image runs Loki as
/// user 10001 in WORKDIR /, so anything written outside the data volume fails.
enum LokiStartupCheck {
    static let rulesName = "Loki reads its rules (ruler.storage)"
    static let volumeName = "Loki writes only on its volume"

    static func config(_ files: DeploymentFiles) -> (String, [String: Any])? {
        guard let url = files.lokiConfig, let config = try? DeploymentFiles.loadYAML(url) as? [String: Any] else { return nil }
        return (files.relative(url), config)
    }

    /// `ruler_storage` is ignored unless storage_config.use_thanos_objstore is true, and with
    /// `ruler.storage` unset Loki then exits: "directory required for local rules config".
    static func ruleStorage(_ files: DeploymentFiles) -> CheckResult {
        guard let (file, config) = config(files) else {
            return .fail(rulesName, "no Loki config (YAML with schema_config/limits_config) under loki/", hint: "add loki/loki.yml")
        }
        let ruler = config["ruler"] as? [String: Any] ?? [:]
        let thanos = (config["storage_config"] as? [String: Any])?["use_thanos_objstore"] as? Bool == true
        let hint = "move the rule folder to `ruler.storage: {type: local, local: {directory: /etc/loki/rules}}`"
        if config["ruler_storage"] != nil, !thanos, ruler["storage"] == nil {
            return .fail(rulesName, "\(file): ruler_storage is ignored while storage_config.use_thanos_objstore is false, and Loki 3.7 "
                + "then exits at start (\"directory required for local rules config\")", hint: hint)
        }
        guard let storage = ruler["storage"] as? [String: Any] else {
            return .skip(rulesName, "\(file) has no ruler.storage: Loki records nothing from the logs")
        }
        guard storage["type"] as? String == "local",
              let directory = (storage["local"] as? [String: Any])?["directory"] as? String, !directory.isEmpty else {
            return .fail(rulesName, "\(file): ruler.storage is not {type: local, local: {directory: …}}", hint: hint)
        }
        return .pass(rulesName, "\(file): rules from \(directory)")
    }

    /// Every directory Loki writes below the volume compose mounts into the loki service,
    /// including the ruler's WAL, which otherwise goes to ./ruler-wal in the working directory.
    static func writesOnVolume(_ files: DeploymentFiles) -> CheckResult {
        guard let (file, config) = config(files) else {
            return .fail(volumeName, "no Loki config (YAML with schema_config/limits_config) under loki/", hint: "add loki/loki.yml")
        }
        guard let compose = try? DeploymentFiles.loadYAML(files.compose) as? [String: Any],
              let services = compose["services"] as? [String: Any],
              let (serviceName, loki) = ComposeFile.service(in: services, named: "loki", image: "grafana/loki") else {
            return .fail(volumeName, "no loki service in docker-compose.yml", hint: "add the loki service")
        }
        let named = Set((compose["volumes"] as? [String: Any] ?? [:]).keys)
        let volumeTargets: [String] = (loki["volumes"] as? [Any] ?? []).compactMap { volume in
            let parts = (volume as? String)?.split(separator: ":").map(String.init) ?? []
            return parts.count >= 2 && named.contains(parts[0]) ? parts[1] : nil
        }
        guard let volume = volumeTargets.first else {
            return .fail(volumeName, "service \(serviceName) mounts no named volume: Loki's data dies with the container",
                         hint: "mount `loki_data:/loki` and keep every Loki path under /loki")
        }
        func value(_ path: [String]) -> String? {
            var node: Any? = config
            for key in path { node = (node as? [String: Any])?[key] }
            return node as? String
        }
        let ruler = config["ruler"] as? [String: Any]
        var paths: [(String, String?)] = [
            ("common.path_prefix", value(["common", "path_prefix"])),
            ("compactor.working_directory", value(["compactor", "working_directory"])),
            ("storage_config.tsdb_shipper.active_index_directory", value(["storage_config", "tsdb_shipper", "active_index_directory"])),
            ("storage_config.tsdb_shipper.cache_location", value(["storage_config", "tsdb_shipper", "cache_location"])),
            ("common.storage.filesystem.chunks_directory", value(["common", "storage", "filesystem", "chunks_directory"])),
        ]
        if ruler != nil {
            paths.append(("ruler.rule_path", value(["ruler", "rule_path"])))
            paths.append(("ruler.wal.dir", value(["ruler", "wal", "dir"])))
        }
        let inside = { (path: String) in path == volume || path.hasPrefix(volume.hasSuffix("/") ? volume : volume + "/") }
        var problems: [String] = []
        if ruler != nil, value(["ruler", "wal", "dir"]) == nil {
            problems.append("ruler.wal.dir is not set, so the ruler's WAL goes to ./ruler-wal in the working directory (/ in the image, which user 10001 cannot write)")
        }
        for (key, path) in paths {
            if let path, !inside(path) { problems.append("\(key) \(path) is outside the volume \(volume)") }
        }
        guard problems.isEmpty else {
            return .fail(volumeName, "\(file): " + problems.joined(separator: "; "),
                         hint: "put every Loki path under \(volume), e.g. `ruler: {wal: {dir: \(volume)/ruler-wal}}`")
        }
        return .pass(volumeName, "\(file): everything under \(volume) (\(serviceName)'s volume)")
    }
}
