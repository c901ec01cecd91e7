import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

enum Terminal {
    /// Progress goes to stderr, and only when a person is watching it.
    static let interactive: Bool = isatty(STDERR_FILENO) != 0

    static func progress(_ line: String) {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    static func endProgress() {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}
