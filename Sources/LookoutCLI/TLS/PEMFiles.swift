import Foundation
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif

/// Reads the edge's PEM files the way nginx will, with errors that name the file and say what
/// is wrong with it, so that `check` can refuse a deployment before the edge would refuse to start.
public enum PEMFiles {
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Every certificate in the file, in order (the server certificate first, then intermediates).
    public static func certificates(at url: URL, named name: String) throws -> [Certificate] {
        let text = try read(url, named: name)
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw Problem("\(name) is not a PEM file (expected -----BEGIN CERTIFICATE----- blocks)")
        }
        let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !certificates.isEmpty else {
            let found = Set(documents.map(\.discriminator)).sorted().joined(separator: ", ")
            throw Problem("\(name) holds no certificate (found \(found.isEmpty ? "nothing" : found))")
        }
        return try certificates.enumerated().map { index, document in
            do {
                return try Certificate(pemDocument: document)
            } catch {
                throw Problem("\(name): certificate #\(index + 1) cannot be parsed (\(error))")
            }
        }
    }

    public static func privateKey(at url: URL, named name: String) throws -> Certificate.PrivateKey {
        let text = try read(url, named: name)
        guard let document = try? PEMDocument.parseMultiple(pemString: text).first(where: { $0.discriminator.hasSuffix("PRIVATE KEY") }) else {
            throw Problem("\(name) holds no PEM private key (expected -----BEGIN PRIVATE KEY-----)")
        }
        if document.discriminator == "ENCRYPTED PRIVATE KEY" {
            throw Problem("\(name) is encrypted with a passphrase, which the edge cannot enter: decrypt it (openssl pkey -in \(name) -out \(name))")
        }
        do {
            return try Certificate.PrivateKey(pemDocument: document)
        } catch {
            throw Problem("\(name): the private key cannot be parsed (\(error))")
        }
    }

    static func read(_ url: URL, named name: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Problem("\(name) is missing")
        }
        guard !isDirectory.boolValue else { throw Problem("\(name) is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Problem("\(name) cannot be read by this user (permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw Problem("\(name) is not a text (PEM) file") }
        return text
    }
}

/// What a certificate says about itself, in the terms `check` and `doctor` report.
public enum CertificateFacts {
    /// DNS names and IP addresses of the subjectAltName extension (what clients check).
    public static func names(of certificate: Certificate) -> [String] {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return ipString(Array(octets.bytes))
            default: return nil
            }
        }
    }

    /// True when `host` (a DNS name or an IP address, as in a URL) is one of the certificate's
    /// names; a wildcard covers exactly one leftmost label (RFC 6125).
    public static func covers(_ certificate: Certificate, host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return names(of: certificate).contains { pattern in
            let pattern = pattern.lowercased()
            if pattern == host { return true }
            guard pattern.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
            return host[host.index(after: dot)...] == pattern.dropFirst(2) && !host[..<dot].isEmpty
        }
    }

    /// Whole days from `now` until the certificate stops being valid (negative once expired).
    public static func daysLeft(_ certificate: Certificate, now: Date = Date()) -> Int {
        Int((certificate.notValidAfter.timeIntervalSince(now) / 86_400).rounded(.down))
    }

    public static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }

    static func ipString(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return nil }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
