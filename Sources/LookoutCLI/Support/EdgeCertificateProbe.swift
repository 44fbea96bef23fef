import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import X509

/// One TLS handshake with a door of the edge, to read the certificate it serves (AsyncHTTPClient
/// does not show it). The handshake verifies like every other client of the edge (the system's
/// roots plus the private CA, the host name); when that fails, a second, unverified handshake
/// fetches the certificate only to explain the failure (expired, wrong name, unknown CA).
public enum EdgeCertificateProbe {
    public enum Outcome: Sendable {
        case verified(Certificate)
        /// `certificate` is what the door served, when it could be fetched at all.
        case refused(reason: String, certificate: Certificate?)
    }

    public static func probe(host: String, port: Int, caFile: String?, timeoutSeconds: Int64 = 10) async -> Outcome {
        do {
            return .verified(try await fetch(host: host, port: port, tls: WebClient.tlsConfiguration(caFile: caFile), timeoutSeconds: timeoutSeconds))
        } catch {
            var unverified = WebClient.tlsConfiguration(caFile: nil)
            unverified.certificateVerification = .none
            let served = try? await fetch(host: host, port: port, tls: unverified, timeoutSeconds: timeoutSeconds)
            return .refused(reason: explain(error, served: served, host: host), certificate: served)
        }
    }

    static func fetch(host: String, port: Int, tls: TLSConfiguration, timeoutSeconds: Int64) async throws -> Certificate {
        let context = try NIOSSLContext(configuration: tls)
        // SNI takes names only; with an IP address the certificate is checked against the address.
        let serverName = PrivateCA.ipv4(host) == nil && PrivateCA.ipv6(host) == nil ? host : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(timeoutSeconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: channel.eventLoop.makePromise()))
                }
            }
            .connect(host: host, port: port).get()
        defer { channel.close(promise: nil) }
        let handshake = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: HandshakeWaiter.self).promise.futureResult
        }.get()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await handshake.get() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeoutSeconds) * 1_000_000_000)
                throw ChannelError.connectTimeout(.seconds(timeoutSeconds))
            }
            try await group.next()
            group.cancelAll()
        }
        let der = try await channel.eventLoop.submit { () -> [UInt8]? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.toDERBytes()
        }.get()
        guard let der else { throw NIOSSLError.noCertificateToValidate }
        return try Certificate(derEncoded: der)
    }

    /// Why a verified handshake failed, in an operator's words, from the certificate itself.
    static func explain(_ error: any Error, served: Certificate?, host: String, now: Date = Date()) -> String {
        let text = String(describing: error)
        guard let served else {
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("wrongVersion") { return "the port does not speak TLS (plain HTTP?)" }
            return "no TLS handshake: \(describe(error))"
        }
        if served.notValidAfter < now { return "the certificate expired on \(CertificateFacts.day(served.notValidAfter))" }
        if served.notValidBefore > now { return "the certificate is not valid before \(CertificateFacts.day(served.notValidBefore))" }
        if !CertificateFacts.covers(served, host: host) {
            return "the certificate is for \(CertificateFacts.names(of: served).joined(separator: ", ")), not \(host)"
        }
        return "the certificate (issued by \(served.issuer)) is not signed by a CA this client trusts"
    }
}

/// Completes its promise when the TLS handshake is done, or fails it with the handshake's error.
private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }
}
