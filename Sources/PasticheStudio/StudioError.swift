import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PasticheImage
import PasticheLibrary
import PasticheModels

/// An HTTP error with a one-line message: Hummingbird answers it (`HTTPResponseError`) with
/// its status and `{"error": message}`, and `Retry-After` when the studio is busy.
public struct StudioError: Error, CustomStringConvertible, Sendable, HTTPResponseError {
    public let code: Int
    public let message: String

    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { "\(code): \(message)" }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try StudioJSON().encode(API.Failure(error: message), from: request, context: context)
        response.status = status
        if code == 503 { response.headers[.retryAfter] = "1" }
        return response
    }

    static func tooLarge(_ limit: Int) -> StudioError {
        StudioError(413, "the request body is larger than the studio's limit of \(limit >> 20) MB (serve --max-body)")
    }

    static func badRequest(_ m: String) -> Self { .init(400, m) }
    static func notFound(_ m: String) -> Self { .init(404, m) }
    static let busy = StudioError(503, "the studio is busy: too many renders queued; try again shortly")

    /// The status and line for any error a handler throws: the engine's and the library's own
    /// errors keep their messages, with the status that says whose fault it was.
    static func from(_ error: Error) -> StudioError {
        switch error {
        case let e as StudioError: return e
        case let e as StyleStoreError:
            switch e {
            case .notFound: return .init(404, e.description)
            case .nameTaken: return .init(409, e.description)
            case .invalidName, .invalidRecord, .invalidImport: return .init(400, e.description)
            case .corruptRecord: return .init(500, e.description)
            default: return .init(500, e.description)
            }
        case let e as ImageError:
            switch e.kind {
            case .tooLarge: return .init(413, e.description)
            case .writeFailed where e.description.lowercased().contains("no space left on device"): return .init(507, e.description)
            case .outOfMemory, .writeFailed: return .init(500, e.description)
            default: return .init(400, e.description)
            }
        case let e as ModelError: return .init(400, e.description)
        case let e as StyleLibraryError: return .init(409, e.description)
        // 507 Insufficient Storage (RFC 4918): the request was fine, the disk is full.
        case let e as LMDBError: return .init(e.isDiskFull ? 507 : 500, e.description)
        case let e as DecodingError: return .init(400, describe(e))
        default: return .init(500, "\(error)")
        }
    }

    /// DecodingError's own description is a multi-line dump; this is the one line a client needs.
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the body" : String(p.drop { $0 == "." })
        }
        switch e {
        case .keyNotFound(let key, _): return "bad JSON: missing field '\(key.stringValue)'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "bad JSON: \(path(c)) has the wrong type"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "bad JSON: the body is not valid JSON" : "bad JSON: \(path(c)) is not valid"
        @unknown default: return "bad JSON"
        }
    }
}
