import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PasticheImage
import PasticheLibrary

/// The HTTP face of `Studio`: every endpoint (docs/studio.md), the page's files, and the two
/// middlewares every request passes: errors become `{"error": "one line"}` with their status,
/// and the access check (token, loopback Host, same Origin).
enum StudioRoutes {
    typealias Context = BasicRequestContext

    static func router(studio: Studio, assets: WebAssets) -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AccessMiddleware(token: studio.configuration.token))
        let limit = studio.configuration.maxBodyBytes

        for (name, asset) in assets.assets {
            let path = name == "index.html" ? "/" : "/\(name)"
            router.get(RouterPath(path)) { request, _ -> Response in
                var headers = HTTPFields()
                headers[.contentType] = asset.contentType
                headers[.cacheControl] = "no-cache"
                headers[.xContentTypeOptions] = "nosniff"
                if name == "index.html" {
                    // The page runs only its own script and talks only to this server.
                    headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
                    if let token = studio.configuration.token, request.uri.queryParameters.get("token") == token {
                        // Jupyter-style: the printed URL carries the token once; the cookie carries it after.
                        headers[.setCookie] = "\(AccessMiddleware.cookie)=\(token); HttpOnly; SameSite=Strict; Path=/"
                    }
                }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
            }
        }

        router.get("/api/styles") { _, _ in try json(await studio.styles()) }
        router.post("/api/styles") { request, _ -> Response in
            let q = request.uri.queryParameters
            let tags = q.getAll("tag").flatMap { $0.split(separator: ",").map(String.init) }
            let added = try await studio.addStyle(try await body(request, limit: limit), name: q.get("name"),
                                                  tags: tags, fileName: q.get("filename"))
            return try json(added, status: added.reused ? .ok : .created)
        }
        router.get("/api/styles/:name") { _, context in
            try json(API.Style(await studio.style(try context.parameters.require("name")), withEmbedding: true))
        }
        router.patch("/api/styles/:name") { request, context in
            let patch = try decode(API.Patch.self, try await body(request, limit: limit))
            return try json(API.Style(await studio.patch(try context.parameters.require("name"), patch)))
        }
        router.delete("/api/styles/:name") { _, context in
            let name = try context.parameters.require("name")
            try await studio.delete(name)
            return try json(API.Deleted(deleted: name))
        }
        router.get("/api/styles/:name/thumbnail") { _, context -> Response in
            let record = try await studio.style(try context.parameters.require("name"))
            guard !record.thumbnail.isEmpty else { throw StudioError.notFound("style '\(record.name)' has no thumbnail") }
            return image(record.thumbnail, contentType: "image/jpeg")
        }
        router.get("/api/styles/:name/nearest") { request, context in
            let k = try intParameter(request, "k") ?? 5
            return try json(await studio.nearest(try context.parameters.require("name"), k: k))
        }
        router.get("/api/map") { _, _ in try json(await studio.map()) }

        router.post("/api/photos") { request, _ in
            try json(await studio.addPhoto(try await body(request, limit: limit)), status: .created)
        }
        router.post("/api/render") { request, _ -> Response in
            let r = try await studio.render(try decode(API.Render.self, try await body(request, limit: limit)))
            var response = image(r.bytes, contentType: r.format == .png ? "image/png" : "image/jpeg")
            response.headers[HTTPField.Name("Server-Timing")!] = String(format: "render;dur=%.1f", r.milliseconds)
            return response
        }
        router.post("/api/jobs") { request, _ in
            try json(await studio.startJob(try decode(API.Render.self, try await body(request, limit: limit))),
                     status: .accepted)
        }
        router.get("/api/jobs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let status = studio.jobs.status(id) else { throw StudioError.notFound("no job '\(id)'") }
            return try json(status)
        }
        router.get("/api/jobs/:id/result") { _, context -> Response in
            let id = try context.parameters.require("id")
            let (bytes, format) = try studio.jobs.result(id)
            var response = image(bytes, contentType: format == .png ? "image/png" : "image/jpeg")
            response.headers[.contentDisposition] = "attachment; filename=\"pastiche-\(id).\(format == .png ? "png" : "jpg")\""
            return response
        }
        router.post("/api/blends") { request, _ in
            try json(await studio.saveBlend(try decode(API.SaveBlend.self, try await body(request, limit: limit))),
                     status: .created)
        }
        router.get("/api/stats") { _, _ in try json(studio.stats()) }
        return router
    }

    // MARK: Helpers

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func image(_ bytes: [UInt8], contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The whole body, refused with 413 past `limit` (before reading it, when the length is declared).
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw tooLarge(limit)
        }
        var request = request
        do {
            var buffer = try await request.collectBody(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        } catch {
            // A malformed chunked body and the like: the client's fault, not the server's.
            throw StudioError.badRequest("the request body could not be read (\(error))")
        }
    }

    static func tooLarge(_ limit: Int) -> StudioError {
        StudioError(413, "the request body is larger than the studio's limit of \(limit >> 20) MB (serve --max-body)")
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        guard !bytes.isEmpty else { throw StudioError.badRequest("the request needs a JSON body") }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }

    static func intParameter(_ request: Request, _ name: String) throws -> Int? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let v = Int(text) else { throw StudioError.badRequest("\(name) must be an integer, got '\(text)'") }
        return v
    }
}

/// Turns every thrown error, the router's own 404 and the body limit's included, into a status
/// and `{"error": "one line"}`; the server stays up whatever a handler throws.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let failure: StudioError
            switch error {
            case let e as HTTPError where e.status == .notFound:
                failure = .notFound("no such endpoint: \(request.method) \(request.uri.path)")
            case let e as HTTPError:
                failure = StudioError(e.status.code, e.body ?? e.status.reasonPhrase)
            case is NIOTooManyBytesError:
                failure = StudioError(413, "the request body is too large")
            default:
                failure = StudioError.from(error)
            }
            var response = try StudioRoutes.json(API.Failure(error: failure.message),
                                                 status: HTTPResponse.Status(code: failure.status))
            if failure.status == 503 { response.headers[.retryAfter] = "1" }
            return response
        }
    }
}

/// Who may talk to the studio. With a token (always, off loopback): the token in the query,
/// an `Authorization: Bearer` header or the cookie the page got, else 401. Without one: the
/// Host header must name a loopback address, so a web page cannot reach this server by
/// rebinding its own DNS name to 127.0.0.1. Either way, a state-changing request from a page
/// of another origin is refused (403), so no other site can add, rename or delete styles.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let cookie = "pastiche_token"
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority, !authority.isEmpty else {
            throw StudioError.badRequest("the request has no Host header")
        }
        if let token {
            let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let given = request.uri.queryParameters.get("token") ?? bearer ?? request.cookies[Self.cookie]?.value
            guard let given, Self.constantTimeEqual(given, token) else {
                throw StudioError(401, "this studio needs its token: open the URL that `pastiche serve` printed")
            }
        } else {
            let host = Self.hostName(authority)
            guard StudioConfiguration.isLoopback(host) else {
                throw StudioError(403, "requests must name a loopback host (got '\(authority)'); serve with --host and a token for other hosts")
            }
        }
        if request.method != .get && request.method != .head, let origin = request.headers[.origin],
           origin != "http://\(authority)" {
            throw StudioError(403, "cross-origin request refused (Origin \(origin))")
        }
        return try await next(request, context)
    }

    /// "127.0.0.1:8750" → "127.0.0.1", "[::1]:8750" → "::1".
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
