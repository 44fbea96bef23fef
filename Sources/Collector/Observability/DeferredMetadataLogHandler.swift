import Logging

/// Wraps the process's log handler so that setting metadata costs a dictionary store.
///
/// Hummingbird gives every request a logger with its own `hb.request.id`. swift-log's default
/// StreamLogHandler renders all metadata into a string each time metadata is set, so that
/// happened on every push although at the usual level (info, warning) nothing per request is
/// logged; the profile showed it at about 2.5 % of the collector's CPU. Here the metadata is
/// only handed over when a message is actually logged, so output is unchanged.
struct DeferredMetadataLogHandler: LogHandler {
    private var wrapped: any LogHandler
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }
    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    init(wrapping handler: any LogHandler) {
        self.wrapped = handler
        self.metadata = handler.metadata
        // The wrapped handler's own copy is not used any more: ours wins on every message.
        self.wrapped.metadata = [:]
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        wrapped.log(event: event)
    }
}

extension Logger {
    /// The same logger, with metadata changes deferred until something is logged.
    func deferringMetadata() -> Logger {
        let handler = DeferredMetadataLogHandler(wrapping: self.handler)
        return Logger(label: self.label, factory: { _ in handler })
    }
}
