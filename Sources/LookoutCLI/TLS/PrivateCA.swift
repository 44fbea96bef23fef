import Crypto
import Foundation
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif

/// The small private CA of `lookout init --tls`, for a monitoring host on a private network:
/// one root (ECDSA P-256, 10 years) that the application host, the operators' browsers and
/// `lookout doctor` trust, and a server certificate for the monitoring host's names.
///
/// Lifetimes: Apple's platforms refuse TLS server certificates valid for more than 825 days,
/// even from a root the user installed, so the server certificate stays below that;
/// `init --tls` renews it when fewer than `renewalDays` remain.
public struct PrivateCA: Sendable {
    public let certificate: Certificate
    let key: Certificate.PrivateKey

    public static let caLifetimeDays = 3650
    public static let serverLifetimeDays = 825
    public static let renewalDays = 30

    /// A new CA; `name` goes into its subject so that a browser's trust store shows whose it is.
    public static func create(name: String, now: Date = Date()) throws -> PrivateCA {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("Lookout")
            CommonName(name)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            // A little in the past: a client whose clock is a few minutes behind must not see it "not yet valid".
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(caLifetimeDays) * 86_400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key
        )
        return PrivateCA(certificate: certificate, key: key)
    }

    public init(certificate: Certificate, key: Certificate.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// A server certificate for `names` (DNS names or IP addresses), with its new key.
    public func issue(names: [String], now: Date = Date()) throws -> (certificate: Certificate, key: Certificate.PrivateKey) {
        guard !names.isEmpty else { throw PEMFiles.Problem("no names to issue a certificate for") }
        let first = Self.primaryName(names)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let sans = SubjectAlternativeNames(names.map(Self.generalName))
        let caKeyIdentifier = try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        let issued = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(Self.serverLifetimeDays) * 86_400),
            issuer: self.certificate.subject,
            subject: try DistinguishedName { CommonName(first) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                sans
                SubjectKeyIdentifier(hash: key.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier)
            },
            issuerPrivateKey: self.key
        )
        return (issued, key)
    }

    /// True when this CA signed `certificate`.
    public func signed(_ certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject
            && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// The first DNS name (for a subject's common name, which people read), else the first address.
    public static func primaryName(_ names: [String]) -> String {
        names.first { ipv4($0) == nil && ipv6($0) == nil } ?? names.first ?? "monitoring-host"
    }

    static func generalName(_ name: String) -> GeneralName {
        if let bytes = ipv4(name) ?? ipv6(name) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        return .dnsName(name)
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
