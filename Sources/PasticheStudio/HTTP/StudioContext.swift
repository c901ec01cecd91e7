import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The request context of every studio route: Hummingbird's core storage, the body limit
/// (`serve --max-body`, set per request by `BodyLimitMiddleware`, and used by
/// `request.decode` and `collectBody`), and the studio's JSON coding.
struct StudioContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var maxUploadSize: Int = 2 << 20

    init(source: Source) {
        coreContext = .init(source: source)
    }

    var requestDecoder: StudioJSON { StudioJSON() }
    var responseEncoder: StudioJSON { StudioJSON() }
}

/// The studio's JSON (docs/json.md): sorted keys, unescaped slashes, `application/json`,
/// never cached. Requests decode with the framework's body limit; a decoding failure is one line
/// naming the field (`StudioError.describe`), an over-size body the 413 that names `--max-body`.
struct StudioJSON: ResponseEncoder, RequestDecoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let bytes = try await StudioContext.body(of: request, limit: context.maxUploadSize)
        guard !bytes.isEmpty else { throw StudioError.badRequest("the request needs a JSON body") }
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch let e as DecodingError {
            throw StudioError.badRequest(StudioError.describe(e))
        }
    }
}

extension StudioContext {
    /// The whole body, at most `limit` bytes (the context's `maxUploadSize`).
    static func body(of request: Request, limit: Int) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw StudioError.tooLarge(limit)
        } catch {
            // A malformed chunked body and the like: the client's fault, not the server's.
            throw StudioError.badRequest("the request body could not be read (\(error))")
        }
    }
}

/// A typed image answer (PNG or JPEG bytes), never cached.
struct ImageResponse: ResponseGenerator {
    let bytes: [UInt8]
    let contentType: String
    var headers = HTTPFields()

    init(_ bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = headers
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
