import LokiPush
import NIOCore

/// Writes a Loki push as JSON straight into a ByteBuffer. JSONEncoder through Codable was the
/// largest remaining cost of forwarding; the shape is fixed and writing JSON strings needs
/// only escaping. LokiPushEncoderTests decodes the output with JSONDecoder and compares.
enum LokiPushEncoder {
    static func encode(_ push: LokiPushRequest) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(push.streams.reduce(64) { size, stream in
            stream.values.reduce(size + 64) { $0 + $1.line.utf8.count + 32 }
        })
        buffer.writeStaticString("{\"streams\":[")
        for (streamIndex, stream) in push.streams.enumerated() {
            if streamIndex > 0 { buffer.writeStaticString(",") }
            buffer.writeStaticString("{\"stream\":{")
            // Sorted, so that the same label set always reads the same (and tests can compare).
            for (labelIndex, (name, value)) in stream.stream.sorted(by: { $0.key < $1.key }).enumerated() {
                if labelIndex > 0 { buffer.writeStaticString(",") }
                writeString(name, to: &buffer)
                buffer.writeStaticString(":")
                writeString(value, to: &buffer)
            }
            buffer.writeStaticString("},\"values\":[")
            for (entryIndex, entry) in stream.values.enumerated() {
                buffer.writeStaticString(entryIndex > 0 ? ",[" : "[")
                writeString(entry.timestamp, to: &buffer)
                buffer.writeStaticString(",")
                writeString(entry.line, to: &buffer)
                buffer.writeStaticString("]")
            }
            buffer.writeStaticString("]}")
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string: quote, backslash and control characters escaped, all else as UTF-8.
    static func writeString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                buffer.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default: buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
                runStart = index + 1
            }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        buffer.writeStaticString("\"")
    }
}
