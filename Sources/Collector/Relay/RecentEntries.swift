#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers

/// The log entries Loki has recently accepted from agents, so that a second copy of one (the
/// other Promtail's, or a restarted Promtail re-sending what it had not confirmed) is not
/// stored again. Loki itself drops a copy only while its twin is still in the stream's head
/// block; a copy arriving after that block was cut would be stored twice and counted twice by
/// every metric query (docs/logs.md, "When a line is stored twice").
///
/// An entry is remembered for `window` after Loki accepted it. Loki refuses entries more than
/// `max_chunk_age / 2` (1 h) behind the newest one of their stream, so copies later than that
/// are refused by Loki anyway. Entries are remembered in memory only: a collector restart
/// forgets them (docs/collector.md).
final class RecentEntries: Sendable {
    /// 128 bits of SipHash over stream, timestamp and line: a false match (a new line dropped as
    /// a copy) needs a 128-bit collision.
    struct Key: Hashable, Sendable {
        let high: UInt64
        let low: UInt64
    }

    private struct State {
        var expiries: [Key: UInt64] = [:]
        /// Insertion order, for expiry; a key remembered twice has two slots, the dictionary
        /// holds the later expiry.
        var order: [(key: Key, expires: UInt64)] = []
        var head = 0
    }

    let windowNanoseconds: UInt64
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(windowSeconds: Int, capacity: Int) {
        self.windowNanoseconds = UInt64(windowSeconds) * 1_000_000_000
        self.capacity = capacity
    }

    static func key(labels: Data, seconds: Int64, nanos: Int32, line: Data) -> Key {
        func hash(_ domain: UInt8) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(domain)
            hasher.combine(labels.count)
            labels.withUnsafeBytes { hasher.combine(bytes: $0) }
            hasher.combine(seconds)
            hasher.combine(nanos)
            line.withUnsafeBytes { hasher.combine(bytes: $0) }
            return UInt64(bitPattern: Int64(hasher.finalize()))
        }
        return Key(high: hash(1), low: hash(2))
    }

    /// Which of `keys` Loki accepted within the window.
    func seen(_ keys: [Key], now: UInt64) -> [Bool] {
        state.withLockedValue { state in
            Self.expire(&state, now: now)
            return keys.map { state.expiries[$0] != nil }
        }
    }

    /// Called only after Loki accepted the entries: a push Loki refused or never got must not
    /// make its retry look like a copy. Returns how many entries are remembered now, and how
    /// many older ones had to be forgotten before their window ended, to stay within `capacity`.
    @discardableResult
    func remember(_ keys: [Key], now: UInt64) -> (remembered: Int, forgottenEarly: Int) {
        state.withLockedValue { state in
            Self.expire(&state, now: now)
            let expires = now + windowNanoseconds
            for key in keys {
                state.expiries[key] = expires
                state.order.append((key, expires))
            }
            // Over capacity the oldest are forgotten early (counted): a copy of one of them
            // would be stored again, never a line lost.
            var forgotten = 0
            while state.expiries.count > capacity, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if state.expiries[oldest.key] == oldest.expires {
                    state.expiries[oldest.key] = nil
                    forgotten += 1
                }
            }
            Self.compact(&state)
            return (state.expiries.count, forgotten)
        }
    }

    /// Entries remembered now.
    var count: Int {
        state.withLockedValue { $0.expiries.count }
    }

    private static func expire(_ state: inout State, now: UInt64) {
        while state.head < state.order.count, state.order[state.head].expires <= now {
            let oldest = state.order[state.head]
            state.head += 1
            if state.expiries[oldest.key] == oldest.expires { state.expiries[oldest.key] = nil }
        }
        compact(&state)
    }

    /// Drops the consumed front of `order` once it is half of the array (amortised O(1)).
    private static func compact(_ state: inout State) {
        if state.head > 4_096, state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
