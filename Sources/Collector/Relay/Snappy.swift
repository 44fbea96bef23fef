import CSnappy

/// Snappy block format (what Loki and Promtail put in a protobuf push body), through Google's
/// library: no hand-written codec in the path of every agent log line.
enum Snappy {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// - Parameter maxLength: refuses bodies that say they expand beyond this, before allocating.
    static func decompress(_ compressed: [UInt8], maxLength: Int) throws(Failure) -> [UInt8] {
        var length = 0
        let header = compressed.withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { snappy_uncompressed_length($0.baseAddress, $0.count, &length) }
        }
        guard header == SNAPPY_OK else { throw Failure(description: "not snappy-compressed (no valid length header)") }
        guard length <= maxLength else {
            throw Failure(description: "expands to \(length) bytes, more than the \(maxLength) allowed")
        }
        var output = [UInt8](repeating: 0, count: length)
        var written = length
        let status = compressed.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                input.withMemoryRebound(to: CChar.self) { source in
                    out.withMemoryRebound(to: CChar.self) { target in
                        snappy_uncompress(source.baseAddress, source.count, target.baseAddress, &written)
                    }
                }
            }
        }
        guard status == SNAPPY_OK, written == length else { throw Failure(description: "corrupt snappy data") }
        return output
    }

    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: snappy_max_compressed_length(bytes.count))
        var written = output.count
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                input.withMemoryRebound(to: CChar.self) { source in
                    out.withMemoryRebound(to: CChar.self) { target in
                        snappy_compress(source.baseAddress, source.count, target.baseAddress, &written)
                    }
                }
            }
        }
        // Only a too-small output buffer fails, and snappy_max_compressed_length rules that out.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of snappy_max_compressed_length")
        output.removeSubrange(written...)
        return output
    }
}
