import NIOConcurrencyHelpers

/// Token buckets per client key, sharded so that concurrent requests rarely share a lock, and
/// bounded: when a shard tracks too many clients, those whose bucket has refilled are forgotten.
final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private static let shardCount = 16
    let ratePerSecond: Double
    let burst: Double
    private let maxPerShard: Int
    private let shards: [NIOLockedValueBox<[String: Bucket]>]

    init(ratePerSecond: Double, burst: Double, maxClients: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.maxPerShard = max(1, maxClients / Self.shardCount)
        self.shards = (0..<Self.shardCount).map { _ in NIOLockedValueBox([:]) }
    }

    /// Takes one token. Returns nil when allowed, else the seconds until a token is available.
    func take(_ key: String, now: UInt64) -> Double? {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(Self.shardCount))]
        return shard.withLockedValue { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double(now &- bucket.updated) / 1_000_000_000
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * ratePerSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return (1 - bucket.tokens) / ratePerSecond
            }
            bucket.tokens -= 1
            if buckets[key] == nil, buckets.count >= maxPerShard {
                self.evictIdle(&buckets, now: now)
            }
            buckets[key] = bucket
            return nil
        }
    }

    private func evictIdle(_ buckets: inout [String: Bucket], now: UInt64) {
        let refill = (burst / ratePerSecond) * 1_000_000_000
        buckets = buckets.filter { Double(now &- $0.value.updated) < refill }
        // Under a flood of distinct keys nobody is idle: start over rather than grow.
        if buckets.count >= maxPerShard { buckets.removeAll(keepingCapacity: true) }
    }
}
