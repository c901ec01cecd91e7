/// An image I/O failure. `description` is one line: `<file>: <reason>`.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case notFound, unreadable, empty, unknownFormat, truncated, corrupt, tooLarge,
             unsupported, outOfMemory, invalidArgument, writeFailed
    }

    /// The file name (or the name given to `decode`/`encode`) as the caller spelled it.
    public let file: String
    public let kind: Kind
    public let reason: String

    public init(file: String, kind: Kind, reason: String) {
        self.file = file
        self.kind = kind
        // One line, always.
        self.reason = reason.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    public var description: String { "\(file): \(reason)" }
}
