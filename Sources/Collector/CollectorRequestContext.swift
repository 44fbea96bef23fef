import Hummingbird
import NIOCore

/// Request context that remembers the peer address, the last resort for the rate-limit key.
public struct CollectorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are collected with their own cap in the push handler; this only bounds others.
    public var maxUploadSize: Int { 1_048_576 }
}
