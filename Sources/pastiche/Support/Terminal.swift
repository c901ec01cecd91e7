import ArgumentParser
import Foundation
import PasticheCore
import PasticheDistributed
import PasticheImage
import PasticheModels
import PasticheTools

enum Terminal {
    /// Progress goes to stderr, and only when a person is watching it; in an MPI job only rank 0's.
    static let interactive: Bool = isatty(STDERR_FILENO) != 0 && speaksForTheJob

    /// Rank 0 of an MPI job, or a process on its own: the one whose notes are printed.
    static let speaksForTheJob: Bool = (Launch.fromEnvironment()?.rank ?? 0) == 0

    static func progress(_ line: String) {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    static func endProgress() {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func note(_ line: String) {
        guard speaksForTheJob else { return }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let data = try jsonEncoder(pretty: true).encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// The one JSON dialect of every `--json` (docs/json.md): snake_case keys, ISO 8601 dates,
    /// sorted keys, unescaped slashes; a diverging number as the strings "inf", "-inf", "nan".
    static func jsonEncoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
