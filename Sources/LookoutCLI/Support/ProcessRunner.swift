import Foundation

/// Runs the real tools (`promtool`, `amtool`, `docker-compose`, `nginx`) and captures their output.
public struct ToolRun: Sendable {
    public var exitCode: Int32
    public var output: String
}

public enum ProcessRunner {
    /// The absolute path of `name` on `PATH`, or nil when it is not installed.
    public static func which(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for directory in (path ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable` with `arguments` in `directory`; stdout and stderr together, in order.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        in directory: URL? = nil,
        environment: [String: String]? = nil
    ) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting: a tool that fills the pipe would otherwise block forever.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolRun(exitCode: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
