import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import LookoutCLI

/// Paths, temporary folders and child processes for the CLI tests.
enum TestSupport {
    /// Tests/LookoutCLITests
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let packageRoot = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = testsFolder.appendingPathComponent("Fixtures")
    static let golden = testsFolder.appendingPathComponent("Golden")

    /// The `lookout` binary built next to the test bundle.
    static var lookoutBinary: URL {
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("lookout"),
            Bundle.main.bundleURL.appendingPathComponent("lookout"),
            packageRoot.appendingPathComponent(".build/debug/lookout"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
    }

    /// A fresh folder, world-traversable (nginx workers and Alertmanager run unprivileged).
    static func temporaryFolder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    /// Copies a fixture folder (and optional overlays on top of it) into a temporary folder.
    static func deployment(_ fixture: String, overlays: [String] = []) throws -> URL {
        let target = try temporaryFolder(fixture)
        for source in [fixture] + overlays {
            try copyContents(of: fixtures.appendingPathComponent(source), into: target)
        }
        return target
    }

    static func copyContents(of source: URL, into target: URL) throws {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(at: source, includingPropertiesForKeys: [.isDirectoryKey]) else { return }
        for case let url as URL in enumerator {
            let relative = String(url.standardizedFileURL.path.dropFirst(source.standardizedFileURL.path.count + 1))
            let destination = target.appendingPathComponent(relative)
            if (try url.resourceValues(forKeys: [.isDirectoryKey])).isDirectory == true {
                try manager.createDirectory(at: destination, withIntermediateDirectories: true)
            } else {
                try? manager.removeItem(at: destination)
                try manager.copyItem(at: url, to: destination)
            }
        }
    }

    /// Runs the `lookout` binary; stdout and stderr separately.
    static func lookout(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(lookoutBinary.path, arguments, in: directory)
    }

    /// Runs a program to its end; stdout and stderr separately.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on another thread so neither pipe can fill up and block the child.
        let errorData = Locked(Data())
        let reader = Thread { errorData.value = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errorData.value, as: UTF8.self))
    }

    /// A TCP port nobody listens on right now (the kernel picks it).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something listens on `host`:`port`.
    static func acceptsConnections(host: String = "127.0.0.1", port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    /// The first of `names` found on PATH (plus the sbin folders), or nil.
    static func tool(_ names: String...) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/local/sbin:/sbin"
        for name in names {
            if let found = ProcessRunner.which(name, path: path) { return found }
        }
        return nil
    }

    /// Polls `url` until it answers `status` (any answer when nil), or throws after `seconds`.
    static func waitForHTTP(_ url: String, status: Int? = 200, auth: BasicAuth? = nil, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        let web = WebClient(timeoutSeconds: 2)
        let port = URLComponents(string: url)?.port ?? 80
        let host = URLComponents(string: url)?.host ?? "127.0.0.1"
        while Date() < deadline {
            // AsyncHTTPClient retries a refused connection until its deadline: ask the kernel first.
            guard acceptsConnections(host: host, port: port) else {
                try await Task.sleep(nanoseconds: 50_000_000)
                continue
            }
            if let response = try? await web.send(.GET, url, auth: auth), status == nil || response.status == status { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestFailure("\(url) did not answer \(status.map(String.init) ?? "") within \(seconds) s")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A value shared with a reader thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// A service started for one test (nginx, Alertmanager, a fake); `stop()` ends it and its output file.
final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    let log: URL

    init(_ executable: String, _ arguments: [String], log: URL, environment: [String: String]? = nil) throws {
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL if it is still there after 5 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    deinit { stop() }
}
