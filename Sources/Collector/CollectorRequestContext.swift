import Hummingbird
import NIOCore

/// Request context that remembers the peer address, the last resort for the rate-limit key.
public struct CollectorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Kept as the socket address: formatting it (inet_ntop and a String) is left to the rare
    /// request that has neither X-Real-IP nor X-Forwarded-For, since a context is built per request.
    let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    public var peerAddress: String? { remoteAddress?.ipAddress }

    /// Bodies are collected with their own cap in the push handler; this only bounds others.
    public var maxUploadSize: Int { 1_048_576 }
}
