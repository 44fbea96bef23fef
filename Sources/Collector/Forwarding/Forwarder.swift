import Logging
import LokiPush
import ServiceLifecycle

/// The long-lived service that batches queued events to Loki: retries with backoff on 5xx, 429
/// and connection errors, never on other 4xx, and flushes what is left on graceful shutdown.
struct Forwarder: Service {
    let queue: ForwardQueue
    let client: any LokiClient
    let settings: CollectorConfiguration.Forwarding
    let metrics: CollectorMetrics
    let logger: Logger

    func run() async throws {
        let (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        queue.onBatchReady { wakeUp.yield() }
        let interval = Duration.milliseconds(settings.flushIntervalMilliseconds)
        var unsettled: [QueuedStream]?
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // The timer sends partial batches, so a quiet site's events still arrive within the interval.
                group.addTask {
                    while (try? await Task.sleep(for: interval)) != nil {
                        wakeUp.yield()
                    }
                }
                for await _ in wakeUps {
                    unsettled = await self.drain()
                    if unsettled != nil { break }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wakeUp.finish()
        }
        await self.finalFlush(startingWith: unsettled)
    }

    /// Sends batches until the queue is empty. Returns a batch whose retries graceful shutdown
    /// interrupted, so that the final flush gives it its last chance.
    private func drain() async -> [QueuedStream]? {
        while let batch = queue.takeBatch() {
            if await !self.deliver(batch, retrying: true) { return batch }
        }
        return nil
    }

    /// One attempt per batch; once Loki fails, the rest is dropped rather than delaying exit.
    private func finalFlush(startingWith unsettled: [QueuedStream]?) async {
        var next = unsettled ?? queue.takeBatch()
        var delivered = 0
        while let batch = next {
            guard await self.deliver(batch, retrying: false, countFailureAsDrop: false) else {
                var lost = Self.entryCount(batch)
                while let rest = queue.takeBatch() { lost += Self.entryCount(rest) }
                metrics.dropped.increment(by: Int64(lost))
                logger.error("loki unreachable at shutdown, events dropped", metadata: ["loki.dropped": "\(lost)"])
                return
            }
            delivered += Self.entryCount(batch)
            next = queue.takeBatch()
        }
        logger.info("forwarder flushed", metadata: ["loki.flushed": "\(delivered)"])
    }

    /// - Returns: false when the batch is still unsettled (retries interrupted by shutdown, or a
    ///   failed last attempt with `countFailureAsDrop` off); true when delivered or given up.
    private func deliver(_ batch: [QueuedStream], retrying: Bool, countFailureAsDrop: Bool = true) async -> Bool {
        let entries = Self.entryCount(batch)
        let request = LokiPushRequest(streams: batch.map { LokiStream(stream: $0.labels, values: $0.entries) })
        var attempt = 1
        while true {
            switch await client.push(request) {
            case .delivered:
                metrics.forwarded.increment(by: Int64(entries))
                return true
            case .refused(let status, let message):
                metrics.dropped.increment(by: Int64(entries))
                logger.warning(
                    "loki refused a batch; not retrying",
                    metadata: ["loki.status": "\(status)", "loki.message": "\(message)", "loki.entries": "\(entries)"]
                )
                return true
            case .failed(let reason):
                guard retrying, attempt < settings.maxAttempts else {
                    guard countFailureAsDrop else { return false }
                    metrics.dropped.increment(by: Int64(entries))
                    logger.error(
                        "loki push failed, batch dropped",
                        metadata: ["loki.reason": "\(reason)", "loki.attempts": "\(attempt)", "loki.entries": "\(entries)"]
                    )
                    return true
                }
                metrics.retries.increment()
                logger.debug("loki push failed, retrying", metadata: ["loki.reason": "\(reason)", "loki.attempt": "\(attempt)"])
                do {
                    let delay = self.backoff(afterAttempt: attempt)
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                } catch {
                    return false
                }
                attempt += 1
            }
        }
    }

    /// Exponential backoff with jitter, so many collectors do not retry in step.
    func backoff(afterAttempt attempt: Int) -> Duration {
        let exponential = Double(settings.retryBaseMilliseconds) * Double(1 << min(attempt - 1, 20))
        let capped = min(exponential, Double(settings.retryMaxMilliseconds))
        return .milliseconds(Int64(Double.random(in: (capped / 2)...capped)))
    }

    static func entryCount(_ batch: [QueuedStream]) -> Int {
        batch.reduce(0) { $0 + $1.entries.count }
    }
}
