import LokiPush
import NIOConcurrencyHelpers

/// The bounded in-memory queue between request handlers and the forwarder. When it is full,
/// new events are dropped (and counted) instead of memory growing while Loki is away.
final class ForwardQueue: Sendable {
    private struct State {
        var chunks: [QueuedStream] = []
        var head = 0
        var count = 0
        var wakeUp: (@Sendable () -> Void)?
    }

    let capacity: Int
    let batchSize: Int
    private let metrics: CollectorMetrics
    private let state = NIOLockedValueBox(State())

    init(capacity: Int, batchSize: Int, metrics: CollectorMetrics) {
        self.capacity = capacity
        self.batchSize = batchSize
        self.metrics = metrics
    }

    var count: Int { state.withLockedValue { $0.count } }

    /// Called when a full batch is waiting, so the forwarder need not wait for its timer.
    func onBatchReady(_ wakeUp: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.wakeUp = wakeUp }
    }

    /// Adds the entries of one push, all or none. Returns false when they did not fit.
    @discardableResult
    func enqueue(_ streams: [QueuedStream]) -> Bool {
        let entries = streams.reduce(0) { $0 + $1.entries.count }
        let (fits, depth, wakeUp) = state.withLockedValue { state -> (Bool, Int, (@Sendable () -> Void)?) in
            guard state.count + entries <= capacity else { return (false, state.count, nil) }
            let before = state.count
            state.chunks.append(contentsOf: streams)
            state.count += entries
            let crossed = before < batchSize && state.count >= batchSize
            return (true, state.count, crossed ? state.wakeUp : nil)
        }
        if fits {
            metrics.queueDepth.set(Double(depth))
            wakeUp?()
        } else {
            metrics.dropped.increment(by: Int64(entries))
        }
        return fits
    }

    /// Takes up to `batchSize` entries (at least one whole chunk), merged per label set.
    func takeBatch() -> [QueuedStream]? {
        let (chunks, depth) = state.withLockedValue { state -> ([QueuedStream], Int) in
            var taken: [QueuedStream] = []
            var entries = 0
            while state.head < state.chunks.count,
                taken.isEmpty || entries + state.chunks[state.head].entries.count <= batchSize
            {
                let chunk = state.chunks[state.head]
                taken.append(chunk)
                entries += chunk.entries.count
                state.head += 1
            }
            state.count -= entries
            // Compact now and then rather than shifting the array on every batch.
            if state.head == state.chunks.count {
                state.chunks.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1_024 {
                state.chunks.removeFirst(state.head)
                state.head = 0
            }
            return (taken, state.count)
        }
        guard !chunks.isEmpty else { return nil }
        metrics.queueDepth.set(Double(depth))
        return Self.merge(chunks)
    }

    /// One stream per label set: Loki stores them that way and the push gets smaller.
    /// One hash of each chunk's label set (hashing a dictionary hashes every label, and this
    /// runs for every queued push).
    static func merge(_ chunks: [QueuedStream]) -> [QueuedStream] {
        var merged: [QueuedStream] = []
        var position: [[String: String]: Int] = [:]
        for chunk in chunks {
            if let index = position[chunk.labels] {
                merged[index].entries.append(contentsOf: chunk.entries)
            } else {
                position[chunk.labels] = merged.count
                merged.append(chunk)
            }
        }
        return merged
    }
}
